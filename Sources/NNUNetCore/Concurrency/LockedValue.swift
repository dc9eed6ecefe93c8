import Foundation

/// A lock-protected value shared by worker threads: per-case results and errors, counters, progress (Swift 6 `Mutex`
/// needs newer deployment targets on Darwin). The package's one small lock helper; package access, not public API.
///
/// ```swift
/// let errors = LockedValue([(any Error)?](repeating: nil, count: cases.count))
/// parallelFor(cases.count) { range in
///     for i in range { do { try work(i) } catch { errors.withLock { $0[i] = error } } }
/// }
/// if let error = errors.withLock({ $0.compactMap { $0 }.first }) { throw error }
/// ```
///
/// `@unchecked Sendable`: `value` is private and only read and written inside ``withLock(_:)``, under `lock`.
package final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    /// Wraps `value`.
    package init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value and returns its result.
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension LockedValue where Value == Int {
    /// Adds one and returns the new count (progress counters of worker threads).
    package func increment() -> Int { withLock { $0 += 1; return $0 } }
}

extension LockedValue where Value == [(any Error)?] {
    /// A value with `count` empty slots, one per work item, for the errors of worker threads.
    package convenience init(errorSlots count: Int) { self.init(Array(repeating: nil, count: count)) }

    /// Records the error of item `index`.
    package func set(_ index: Int, _ error: any Error) { withLock { $0[index] = error } }

    /// The error of the lowest-numbered item that failed, if any.
    package var first: (any Error)? { withLock { $0.compactMap { $0 }.first } }
}
