/*
 * The 32-bit entry (the multiboot2 headers are in header/, one per image): GRUB leaves us in flat 32-bit protected mode with
 * paging off, EAX = multiboot2 magic and EBX = the information structure (Multiboot2
 * specification, 3.2 "Machine state"). We build identity page tables for the first 4 GiB
 * with 2 MiB pages, enable long mode (AMD APM vol. 2, 14.6 "Enabling and activating long
 * mode") and call hv_main(magic, info) on the boot CPU's stack.
 */
#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_PS 0x80
#define BOOT_STACK_SIZE 16384

	.section .text.entry, "ax"
	.code32
	.globl hv_entry32
hv_entry32:
	cli
	cld
	movl %eax, boot_magic
	movl %ebx, boot_info
	movl $boot_stack_top, %esp

	/* PML4[0] -> PDPT, PDPT[0..3] -> 4 page directories of 512 x 2 MiB = 4 GiB identity. */
	movl $boot_pdpt, %eax
	orl $(PTE_P | PTE_RW), %eax
	movl %eax, boot_pml4

	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd, %eax
	orl $(PTE_P | PTE_RW), %eax
	movl %eax, boot_pdpt(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b

	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_RW | PTE_PS), %eax
	movl %eax, boot_pd(, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax
	movl %eax, boot_pd + 4(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PE | CR0_PG), %eax
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $0x08, $long_mode_entry

	.code64
long_mode_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	xorq %rbp, %rbp
	movl boot_magic, %edi
	movl boot_info, %esi
	call hv_main
3:	cli
	hlt
	jmp 3b

	.section .data
	.balign 16
	.globl boot_gdt
boot_gdt:
	.quad 0
	.quad 0x00AF9B000000FFFF	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00CF93000000FFFF	/* 0x10: data, DPL 0 */
boot_gdt_end:
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt
	.globl boot_magic
boot_magic:
	.long 0
	.globl boot_info
boot_info:
	.long 0

	.section .bss
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.skip 4096
	.globl boot_pdpt
boot_pdpt:
	.skip 4096
	.globl boot_pd
boot_pd:
	.skip 4 * 4096
	.balign 16
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:
