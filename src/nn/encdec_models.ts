/**
 * Registers `encdec` and `latent_encdec` in the model registry (imported by `models_all.ts`).
 *
 * @module
 */

import { EncoderDecoder } from "./encdec.ts";
import { registerModel } from "./registry.ts";

registerModel(
  "encdec",
  (dev, cfg, opts) => new EncoderDecoder(dev, cfg, { ...opts, latent: false }),
);
registerModel(
  "latent_encdec",
  (dev, cfg, opts) => new EncoderDecoder(dev, cfg, { ...opts, latent: true }),
);
