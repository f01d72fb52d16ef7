/*
 * hv_entry_efi64 - the 64-bit EFI entry of tsx-hv-efi.elf (header/mb2_efi.S; include/efi_chain.h).
 * UEFI GRUB jumps here in 64-bit mode with EAX = the multiboot2 loader magic, RBX = the boot
 * information, boot services running and RSP on the firmware's stack (Multiboot2 specification
 * 1.0, 3.2, "EFI amd64 machine state with boot services enabled"). The firmware's state is
 * recorded for the guest, and hv_efi_main does its firmware work on the firmware's own stack
 * (its services may need far more than our 16 KiB boot stack); efi_reserve_routine then hands
 * the CPU to the hypervisor (its own 4 GiB identity map, GDT and stack) at efi_resume, and
 * hv_main goes on as on the multiboot2 path.
 */
#include "efi_chain.h"


	.section .text, "ax"
	.code64
	.globl hv_entry_efi64
hv_entry_efi64:
	pushfq
	popq efi_fw + EFI_FW_RFLAGS
	cli
	cld
	movq %rsp, efi_fw + EFI_FW_RSP
	movq %rbx, efi_fw + EFI_FW_MBI
	movl %eax, efi_fw + EFI_FW_MAGIC
	movq %cr0, %rax
	movq %rax, efi_fw + EFI_FW_CR0
	movq %cr3, %rax
	movq %rax, efi_fw + EFI_FW_CR3
	movq %cr4, %rax
	movq %rax, efi_fw + EFI_FW_CR4
	movl $0xC0000080, %ecx
	rdmsr
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, efi_fw + EFI_FW_EFER
	movw %cs, efi_fw + EFI_FW_CS
	movw %ds, efi_fw + EFI_FW_CS + 2
	movw %es, efi_fw + EFI_FW_CS + 4
	movw %ss, efi_fw + EFI_FW_CS + 6
	movw %fs, efi_fw + EFI_FW_CS + 8
	movw %gs, efi_fw + EFI_FW_CS + 10
	str efi_fw + EFI_FW_CS + 12
	sgdt efi_fw + EFI_FW_GDTR
	sidt efi_fw + EFI_FW_IDTR
	movq $1, efi_fw + EFI_FW_ENTERED

	/* The firmware's interrupt flag back while its services run (its timer drives them). */
	pushq efi_fw + EFI_FW_RFLAGS
	popfq
	andq $-16, %rsp
	movl efi_fw + EFI_FW_MAGIC, %edi
	movq efi_fw + EFI_FW_MBI, %rsi
	call hv_efi_main	/* does not return: it ends in efi_reserve_routine */
	ud2

/*
 * efi_reserve_routine(struct efi_reserve_args *) - copied by hv_efi_main to a firmware page of
 * its own and run from there on the firmware's stack, because it frees the pages the
 * hypervisor's image occupies (efi.c explains why). Position-independent. Under TPL_NOTIFY:
 * FreePages for each loader-owned piece of the region, AllocatePages(AllocateAddress,
 * EfiReservedMemoryType) for the whole region; back to the caller's TPL; then with interrupts
 * off it copies the image back, loads the hypervisor's page tables and GDT, its boot stack, and
 * far-returns to efi_resume with RDI = the first failing FreePages status (or 0) and RSI = the
 * AllocatePages status. Offsets: struct efi_reserve_args (efi.c). The calls follow the
 * Microsoft x64 ABI (RCX, RDX, R8, R9, 32 bytes of shadow space, RSP 16-byte aligned at the
 * call; RBX, RBP and R12-R15 survive them).
 */
	.globl efi_reserve_routine
efi_reserve_routine:
	movq %rdi, %rbx
	andq $-16, %rsp
	subq $48, %rsp
	movl $16, %ecx		/* TPL_NOTIFY */
	movq (%rbx), %rax
	call *24(%rax)		/* RaiseTPL */
	movq %rax, %rbp
	xorl %r12d, %r12d
1:	cmpq 96(%rbx), %r12
	jae 2f
	movq %r12, %rax
	shlq $4, %rax
	movq 104(%rbx, %rax), %rcx
	movq 112(%rbx, %rax), %rdx
	movq (%rbx), %rax
	call *48(%rax)		/* FreePages(base, pages) */
	testq %rax, %rax
	jz 3f
	cmpq $0, 72(%rbx)
	jne 3f
	movq %rax, 72(%rbx)
3:	incq %r12
	jmp 1b
2:	movq 8(%rbx), %rax
	movq %rax, 88(%rbx)
	movl $2, %ecx		/* AllocateAddress */
	xorl %edx, %edx		/* EfiReservedMemoryType */
	movq 16(%rbx), %r8
	leaq 88(%rbx), %r9
	movq (%rbx), %rax
	call *40(%rax)		/* AllocatePages */
	movq %rax, 80(%rbx)
	movq %rbp, %rcx
	movq (%rbx), %rax
	call *32(%rax)		/* RestoreTPL */
	cli
	cld
	movq 8(%rbx), %rdi
	movq 24(%rbx), %rsi
	movq 32(%rbx), %rcx
	rep movsb
	movq 72(%rbx), %rdi
	movq 80(%rbx), %rsi
	movq 56(%rbx), %r13
	movq 64(%rbx), %r12
	movq 48(%rbx), %r14
	movq 40(%rbx), %rax
	movq %rax, %cr3
	lgdt (%r14)
	movq %r13, %rsp
	pushq $0x08
	pushq %r12
	lretq
	.globl efi_reserve_routine_end
efi_reserve_routine_end:

/* On the hypervisor's page tables, GDT (0x08 code, 0x10 data) and boot stack. GS keeps the
 * boot CPU's struct (hv_efi_main set its base). */
	.globl efi_resume
efi_resume:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorq %rbp, %rbp
	call hv_efi_resume
4:	cli
	hlt
	jmp 4b
