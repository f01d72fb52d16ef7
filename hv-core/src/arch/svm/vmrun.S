/*
 * void svm_world_switch(struct guest_regs *regs, uint64_t vmcb_pa, uint64_t host_save_pa)
 *
 * VMSAVEs the host's FS/GS/TR/LDTR/KernelGsBase/STAR/LSTAR/CSTAR/SFMASK/SYSENTER state to
 * host_save_pa (the GS base is how this_cpu() finds the CPU's struct), loads the guest GPRs
 * (RAX and RSP come from the VMCB), VMLOADs the guest's copy of that state, VMRUNs, VMSAVEs
 * it back, stores the guest GPRs and VMLOADs the host's state again. After #VMEXIT the CPU
 * has restored the host RSP and RAX (= VMCB address) from the host save area (AMD APM vol.
 * 2, 15.5 "VMRUN Instruction", 15.6 "#VMEXIT", 15.5.2 "VMSAVE and VMLOAD Instructions").
 */
#define R_RAX 0
#define R_RBX 8
#define R_RCX 16
#define R_RDX 24
#define R_RSI 32
#define R_RDI 40
#define R_RBP 48
#define R_R8 56
#define R_R9 64
#define R_R10 72
#define R_R11 80
#define R_R12 88
#define R_R13 96
#define R_R14 104
#define R_R15 112

	.text
	.code64
	.globl svm_world_switch
svm_world_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx
	pushq %rdi

	movq %rdx, %rax
	vmsave %rax
	movq %rsi, %rax
	movq R_RBX(%rdi), %rbx
	movq R_RCX(%rdi), %rcx
	movq R_RDX(%rdi), %rdx
	movq R_RSI(%rdi), %rsi
	movq R_RBP(%rdi), %rbp
	movq R_R8(%rdi), %r8
	movq R_R9(%rdi), %r9
	movq R_R10(%rdi), %r10
	movq R_R11(%rdi), %r11
	movq R_R12(%rdi), %r12
	movq R_R13(%rdi), %r13
	movq R_R14(%rdi), %r14
	movq R_R15(%rdi), %r15
	movq R_RDI(%rdi), %rdi

	vmload %rax
	vmrun %rax
	vmsave %rax

	pushq %rdi
	movq 8(%rsp), %rdi
	movq %rbx, R_RBX(%rdi)
	movq %rcx, R_RCX(%rdi)
	movq %rdx, R_RDX(%rdi)
	movq %rsi, R_RSI(%rdi)
	movq %rbp, R_RBP(%rdi)
	movq %r8, R_R8(%rdi)
	movq %r9, R_R9(%rdi)
	movq %r10, R_R10(%rdi)
	movq %r11, R_R11(%rdi)
	movq %r12, R_R12(%rdi)
	movq %r13, R_R13(%rdi)
	movq %r14, R_R14(%rdi)
	movq %r15, R_R15(%rdi)
	popq %rax
	movq %rax, R_RDI(%rdi)

	addq $8, %rsp
	popq %rax
	vmload %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
