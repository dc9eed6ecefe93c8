#if canImport(Glibc)
import CMalloc
#endif

/// How the process's allocator treats the large, short-lived buffers of training and inference.
///
/// A training step allocates and frees dozens of activation and gradient arrays of 10-300 MiB. glibc's malloc serves
/// every block above its mmap threshold (at most 32 MiB with the default dynamic rule) with a fresh `mmap`, so each
/// such array costs page faults and the kernel zeroing every page again, every iteration. Raising the threshold to
/// ``reusableBufferLimit`` keeps those blocks in the heap, where a freed block is reused by the next array of its size;
/// the trim threshold keeps the top of the heap from being returned and faulted in again each step.
///
/// Measured on the 2-core EPYC (same build, same run): a Task004 hippocampus training iteration 15.1 → 13.0 s
/// (system time 11.9 → 1.9 s over the run), Conv3d 32→32 on 64³ forward+backward 573 → 505 ms; peak RSS unchanged
/// (2075 → 2038 MiB and 158 MiB). Blocks above the limit (whole CT volumes and their probability maps) are still
/// mapped and unmapped individually, so memory returned by streaming prediction still goes back to the system.
/// glibc's arenas for threads other than the main one grow in heaps of at most 64 MiB, so blocks larger than that
/// made off the main thread are mapped as before; the network's activations are made on the calling thread.
///
/// Applied only when the application calls ``reuseLargeBuffers()`` (directly or through ``ProcessTuning/apply(_:)``);
/// the `nnunet` and `nnunet-benchmark` executables do so at start-up. The library itself never calls it. Only glibc
/// is tuned; elsewhere this does nothing.
public enum AllocatorTuning {
    /// Largest block kept in the heap for reuse (256 MiB): larger blocks are mapped on demand.
    public static let reusableBufferLimit = 256 << 20
    /// Free memory at the top of the heap kept rather than returned to the system (512 MiB).
    public static let retainedHeapTop = 512 << 20

    /// Sets glibc's mmap threshold to ``reusableBufferLimit`` and its trim threshold to ``retainedHeapTop``, for the
    /// whole process (`mallopt`). Each call applies them again.
    ///
    /// - Returns: whether the allocator accepted both (false where the allocator is not glibc's).
    @discardableResult
    public static func reuseLargeBuffers() -> Bool {
        #if canImport(Glibc)
        let threshold = mallopt(M_MMAP_THRESHOLD, Int32(reusableBufferLimit))
        let trim = mallopt(M_TRIM_THRESHOLD, Int32(retainedHeapTop))
        return threshold == 1 && trim == 1
        #else
        return false
        #endif
    }
}
