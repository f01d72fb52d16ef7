/*
 * efi.h - the few UEFI definitions the chain-boot image needs (UEFI Specification 2.10:
 * 4.3 "EFI System Table", 4.4 "EFI Boot Services Table", 7.2 "Memory Allocation Services",
 * 7.4 "Image Services", 7.1 "Event, Timer, and Task Priority Services"; calling convention
 * 2.3.4 "x64 Platforms": the Microsoft x64 ABI, hence ms_abi on every function pointer).
 * Only the members used are typed; the others are placeholders that keep the offsets.
 */
#ifndef TSX_HV_EFI_H
#define TSX_HV_EFI_H

#include <stddef.h>
#include <stdint.h>

#define EFIAPI __attribute__((ms_abi))

typedef uint64_t efi_status;
typedef void *efi_handle;

#define EFI_SUCCESS 0ull
#define EFI_ERROR_BIT (1ull << 63)
#define EFI_BUFFER_TOO_SMALL (EFI_ERROR_BIT | 5)
#define EFI_ABORTED (EFI_ERROR_BIT | 21)
#define EFI_ALREADY_STARTED (EFI_ERROR_BIT | 20)

/* EFI_ALLOCATE_TYPE */
enum { EFI_ALLOCATE_ANY_PAGES, EFI_ALLOCATE_MAX_ADDRESS, EFI_ALLOCATE_ADDRESS };

/* EFI_MEMORY_TYPE */
enum {
	EFI_RESERVED_MEMORY_TYPE,
	EFI_LOADER_CODE,
	EFI_LOADER_DATA,
	EFI_BOOT_SERVICES_CODE,
	EFI_BOOT_SERVICES_DATA,
	EFI_RUNTIME_SERVICES_CODE,
	EFI_RUNTIME_SERVICES_DATA,
	EFI_CONVENTIONAL_MEMORY,
	EFI_UNUSABLE_MEMORY,
	EFI_ACPI_RECLAIM_MEMORY,
	EFI_ACPI_MEMORY_NVS,
	EFI_MEMORY_MAPPED_IO,
	EFI_MEMORY_MAPPED_IO_PORT_SPACE,
	EFI_PAL_CODE,
	EFI_PERSISTENT_MEMORY,
	EFI_UNACCEPTED_MEMORY,
};

#define EFI_TPL_NOTIFY 16u

struct efi_table_header {
	uint64_t signature;
	uint32_t revision, header_size, crc32, reserved;
};

/* EFI_MEMORY_DESCRIPTOR; the firmware's descriptor size may be larger (use its stride). */
struct efi_memory_descriptor {
	uint32_t type;
	uint32_t pad;
	uint64_t physical_start, virtual_start, number_of_pages, attribute;
};

struct efi_boot_services {
	struct efi_table_header hdr;
	uint64_t (EFIAPI *raise_tpl)(uint64_t new_tpl);
	void (EFIAPI *restore_tpl)(uint64_t old_tpl);
	efi_status (EFIAPI *allocate_pages)(int type, int memory_type, uint64_t pages, uint64_t *memory);
	efi_status (EFIAPI *free_pages)(uint64_t memory, uint64_t pages);
	efi_status (EFIAPI *get_memory_map)(uint64_t *map_size, void *map, uint64_t *map_key,
					    uint64_t *descriptor_size, uint32_t *descriptor_version);
	void *allocate_pool, *free_pool;
	void *create_event, *set_timer, *wait_for_event, *signal_event, *close_event, *check_event;
	void *install_protocol_interface, *reinstall_protocol_interface,
		*uninstall_protocol_interface, *handle_protocol, *reserved, *register_protocol_notify,
		*locate_handle, *locate_device_path, *install_configuration_table;
	void *load_image, *start_image;
	efi_status (EFIAPI *exit)(efi_handle image, efi_status status, uint64_t data_size, void *data);
	void *unload_image;
	void *exit_boot_services;
};
_Static_assert(offsetof(struct efi_boot_services, get_memory_map) == 56, "EFI_BOOT_SERVICES layout");
_Static_assert(offsetof(struct efi_boot_services, exit) == 216, "EFI_BOOT_SERVICES layout");

struct efi_system_table {
	struct efi_table_header hdr;
	uint16_t *firmware_vendor;
	uint32_t firmware_revision;
	void *console_in_handle, *con_in, *console_out_handle, *con_out, *standard_error_handle,
		*std_err, *runtime_services;
	struct efi_boot_services *boot_services;
	uint64_t number_of_table_entries;
	void *configuration_table;
};
_Static_assert(offsetof(struct efi_system_table, boot_services) == 96, "EFI_SYSTEM_TABLE layout");

#endif
