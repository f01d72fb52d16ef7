export { build, type BuildOptions, type BuildResult, type StepResult, type StepName } from './build.js';
export { buildLayout, packageRoot, type BuildLayout } from './layout.js';
export { guestCmdline, hypervisorArgs, BASE_GUEST_CMDLINE, BASE_HV_ARGS } from './cmdline.js';
export { renderGrubConfig, BASELINE_SKU, CHAIN_SKU, type GrubConfigValues } from './grub.js';
export { writeNewc, type CpioEntry } from './cpio.js';
export { initramfsImage, initramfsEntries, type InitramfsInputs } from './initramfs.js';
export { resolveKernelPackage, fetchDebianKernel, type KernelPackage } from './kernel.js';
export { makeIso, MEDIA_PATHS, type MediaInputs } from './iso.js';
export { withBuildLock } from './lock.js';
