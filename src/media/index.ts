/** The flash library: what `tsx-hv flash` does, for scripts (docs/flash.md). */
export { flashImage, listDrives } from './flash.js';
export type { FlashEvent, FlashOptions, FlashResult, DriveListing } from './flash.js';
export { assess, assessAll, SYSTEM_MOUNTPOINTS, AUTOMOUNT_ROOTS } from './policy.js';
export type { Assessment, Refusal, RefusalCode, PolicyOptions } from './policy.js';
export { discoverDevices, parseLsblk } from './drives.js';
export type { BlockDevice } from './drives.js';
export { inspectImage, defaultImagePath } from './image.js';
export type { ImageInfo } from './image.js';
export { driveCard, renderCard } from './card.js';
export type { DriveCard } from './card.js';
export { askDeviceName } from './confirm.js';
export { FlashError, DeviceRefusedError, VerificationFailedError, FlashCancelledError, FlashExitCode } from './errors.js';
export type { FlashPhase } from './errors.js';
export { testHooksFromEnv } from './test-hooks.js';
export type { TestHooks } from './test-hooks.js';
