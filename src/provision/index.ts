/** Public API of `tsx-hv provision` (docs/provision.md). */
export { provision, revertProvision, openTarget, type ProvisionOptions, type ProvisionReport, type RevertReport } from './provision.js';
export { parseTargetSpec, type Target, type TargetKind, type TargetSpec } from './target.js';
export { ImageInUseError } from './target-image.js';
export { detectDistribution, parseOsRelease, type Distribution, type DistributionFamily } from './os-release.js';
export { kernelArgs, mergeKernelArgs, REQUIRED_KERNEL_ARGS, EXTREME_SPEED_KERNEL_ARGS } from './kernel-args.js';
export { MANIFEST_PATH as PROVISION_MANIFEST_PATH, type Manifest as ProvisionManifest } from './manifest.js';
export type { Change as ProvisionChange, ChangeStatus as ProvisionChangeStatus } from './types.js';
export type { Verification as ProvisionVerification } from './verify.js';
