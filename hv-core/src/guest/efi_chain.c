/*
 * efi_chain.c - the guest side of a UEFI chain boot (include/efi_chain.h): the boot CPU
 * resumes the firmware exactly as it was at the hand-over (efi_fw, recorded by efi_entry.S),
 * at the stub efi.c wrote, on the firmware's stack.
 *
 * A long-mode TSS descriptor is 16 bytes: limit[15:0], base[23:0], type/attributes,
 * limit[19:16] and G, base[31:24], base[63:32] (AMD APM vol. 2, 4.8.3 "System Descriptors").
 */
#include "efi_chain.h"
#include "hvlib.h"
#include "log.h"
#include "page_alloc.h"
#include "vcpu.h"

static uint64_t table_base(const uint8_t *pseudo)
{
	return load_le64(pseudo + 2);
}

void efi_chain_prepare(struct cpu *c)
{
	struct vcpu_long_mode_entry e = {
		.rip = efi_stub_page(),
		.rsp = efi_fw.rsp,
		.cr3 = efi_fw.cr3,
		.gdt_base = table_base(efi_fw.gdtr),
		.gdt_limit = load_le16(efi_fw.gdtr),
		.code_selector = efi_fw.cs,
		.data_selector = efi_fw.ds,
		.idt_base = table_base(efi_fw.idtr),
		.idt_limit = load_le16(efi_fw.idtr),
		.cr0 = efi_fw.cr0,
		.cr4 = efi_fw.cr4,
		.efer_nxe = efi_fw.efer,
		.tr_selector = efi_fw.tr,
	};
	if (efi_fw.tr) {
		/* The firmware loaded a TSS (EDK2 does with its stack guard): its descriptor. */
		uint64_t at = e.gdt_base + (efi_fw.tr & ~7u);
		if ((efi_fw.tr & ~7u) + 15u > e.gdt_limit)
			hv_panic("UEFI: TR %x lies outside the firmware's GDT (limit %x)", efi_fw.tr,
				 e.gdt_limit);
		const uint8_t *d = phys_to_virt(at);
		e.tr_limit = load_le16(d) | ((uint32_t)(d[6] & 0xF) << 16);
		if (d[6] & 0x80)
			e.tr_limit = (e.tr_limit << 12) | 0xFFF;
		e.tr_base = d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24 |
			    (uint64_t)load_le32(d + 8) << 32;
	}
	if (efi_fw.ss != efi_fw.ds || efi_fw.es != efi_fw.ds)
		hv_log("UEFI: the firmware's SS %x / ES %x differ from DS %x: all get DS", efi_fw.ss,
		       efi_fw.es, efi_fw.ds);
	vcpu_set_long_mode_entry(c, &e);
	hv_log("UEFI chain boot: the firmware resumes as the guest at %lx (CS %x, RSP %lx, CR3 %lx, "
	       "IDT %lx): it ends the stick's boot option and boots the next one",
	       e.rip, e.code_selector, e.rsp, e.cr3, e.idt_base);
}
