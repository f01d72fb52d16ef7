/*
 * The AP start-up trampoline: copied by smp.c to a page below 1 MiB that the guest's memory
 * map marks reserved, and entered by each AP at the STARTUP IPI in real mode with CS =
 * page >> 4, IP = 0 (Intel SDM vol. 3A, 8.4.4.2 "Typical AP Initialization Sequence"; AMD
 * APM vol. 2, 14.4 "Enabling Protected Mode" and 14.6 "Enabling and Activating Long Mode").
 * It enters protected mode through its own GDT, turns on PAE, loads the hypervisor's page
 * tables (CR3 below 4 GiB, patched in), enables long mode and jumps to ap_entry(cpu) on the
 * AP's own stack. The GDT's selectors match entry.S's boot_gdt (0x08 64-bit code, 0x10
 * data), plus 0x18 for the 32-bit step, so ap_entry can switch to boot_gdt without reloading
 * segments. smp.c fills the parameter block (TRAMPOLINE_* offsets in smp.h).
 */
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xC0000080
#define EFER_LME 0x100
#define EFER_NXE 0x800

	.section .rodata
	.balign 16
	.globl ap_trampoline_start, ap_trampoline_end
	.code16
ap_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx                          /* EBX = the trampoline's linear address */
	leal (gdt - ap_trampoline_start)(%ebx), %eax
	movl %eax, (gdt_base - ap_trampoline_start)
	lgdtl (gdt_limit - ap_trampoline_start)
	leal (protected32 - ap_trampoline_start)(%ebx), %eax
	movl %eax, (far32 - ap_trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *(far32 - ap_trampoline_start)

	.code32
protected32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl (param_cr3 - ap_trampoline_start)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0
	leal (long64 - ap_trampoline_start)(%ebx), %eax
	movl %eax, (far64 - ap_trampoline_start)(%ebx)
	ljmpl *(far64 - ap_trampoline_start)(%ebx)

	.code64
long64:
	movl %ebx, %ebx                        /* zero-extend: the upper half is undefined here */
	movq (param_stack - ap_trampoline_start)(%rbx), %rsp
	movq (param_cpu - ap_trampoline_start)(%rbx), %rdi
	movq (param_entry - ap_trampoline_start)(%rbx), %rax
	xorq %rbp, %rbp
	pushq $0                               /* no return address: ap_entry never returns */
	jmpq *%rax

	.balign 8
gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF               /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00CF92000000FFFF               /* 0x10: data, DPL 0 */
	.quad 0x00CF9A000000FFFF               /* 0x18: 32-bit code, DPL 0 */
gdt_end:
	.word 0
gdt_limit:
	.word gdt_end - gdt - 1
gdt_base:
	.long 0
far32:
	.long 0
	.word 0x18
far64:
	.long 0
	.word 0x08
	.balign 8
	.globl ap_trampoline_params
ap_trampoline_params:
param_cr3:
	.quad 0
param_stack:
	.quad 0
param_cpu:
	.quad 0
param_entry:
	.quad 0
ap_trampoline_end:
