/** Browser half of tests/browser/gpt_parity_test.ts: the parity GPTs' 20-step losses on Dawn. */

import { Device } from "../../src/gpu/device.ts";
import { PARITY_MODELS, parityLosses } from "../_support/gpt_steps.ts";

const dev = await Device.open();
const losses: number[][] = [];
for (let i = 0; i < PARITY_MODELS.length; i++) losses.push(await parityLosses(dev, i));
await dev.checkErrors();
(globalThis as unknown as { __kilnParity: unknown }).__kilnParity = {
  losses,
  alignment: dev.limits.minStorageBufferOffsetAlignment,
  subgroups: dev.hasSubgroups,
};
