import CDroverSys

/// Process-wide settings of the C allocator for processes that move many messages.
public enum Allocator {
    /// Makes glibc's malloc keep freed memory instead of handing it back to the kernel at once.
    ///
    /// libzmq's I/O thread allocates a receive buffer for every burst of messages, and the loop thread frees it once
    /// the messages are read. With glibc's defaults the freed top of that thread's heap is trimmed (returned to the
    /// kernel) again and again, and the next burst faults every page back in, zeroed: under a heartbeat flood that
    /// was a large share of the coordinator's CPU (`clear_page`, `sysmalloc`). Keeping up to `keep` bytes of free
    /// memory per heap, serving blocks up to `mmapThreshold` from the heaps rather than from fresh mappings, and
    /// growing the heaps 1 MiB at a time stops that. Call it early, once. Elsewhere than on glibc it does nothing.
    public static func keepFreedMemory(keep: Int32 = 64 << 20, mmapThreshold: Int32 = 4 << 20) {
        drover_keep_freed_memory(keep, mmapThreshold, 1 << 20)
    }
}
