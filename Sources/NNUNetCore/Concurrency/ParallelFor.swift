import Dispatch
import Foundation

/// The one place that decides how work is split over cores.
///
/// Kernels call ``parallelFor(_:threads:body:)``; nothing else in the package spawns compute threads (the batch
/// loader's workers are the exception). The thread count is an explicit setting: ``ThreadSettings/defaultThreads``
/// is the core count unless the `NNUNET_NUM_THREADS` environment variable (read by the CLI) overrides it.
public enum ThreadSettings {
    /// The number of threads kernels use when none is given.
    public static var defaultThreads: Int {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = max(1, newValue) } }
    }

    private static let storage = LockedValue(ProcessInfo.processInfo.activeProcessorCount)
}

/// Runs `body(range)` over contiguous chunks of `0..<count`, on up to `threads` threads, and returns when all chunks
/// are done. Chunks are balanced (sizes differ by at most one); with one thread or a tiny count it runs inline.
///
/// - Parameters:
///   - count: number of work items.
///   - threads: maximum parallelism (default: ``ThreadSettings/defaultThreads``).
///   - minimumChunk: do not split below this many items per chunk.
///   - body: called once per chunk, possibly concurrently; must only write to memory owned by its range.
public func parallelFor(_ count: Int, threads: Int = ThreadSettings.defaultThreads, minimumChunk: Int = 1,
                        body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = max(1, min(threads, count / max(minimumChunk, 1)))
    if chunks == 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * count / chunks, end = (chunk + 1) * count / chunks
            box.value(start..<end)
        }
    }
}

/// A minimal lock-protected value (Swift 6 `Mutex` needs newer deployment targets on Darwin).
final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`; safe because ``parallelFor`` waits for all chunks and the
/// caller promises disjoint writes.
struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
