#if canImport(Glibc)
import CMalloc
#endif
import Foundation

/// Resident memory of this process from /proc/self (Linux; 0 elsewhere), with a resettable peak.
enum ResidentMemory {
    /// `VmHWM`: the peak resident set since the process started or since ``resetPeak()``, in MiB.
    static func peakMiB() -> Double { statusField("VmHWM:") }

    /// `VmRSS`: the resident set now, in MiB.
    static func residentMiB() -> Double { statusField("VmRSS:") }

    /// Returns the heap's free memory to the system (glibc `malloc_trim(0)`), including the top that
    /// `AllocatorTuning.retainedHeapTop` otherwise keeps: resident memory afterwards holds only live buffers, so a
    /// later peak is not hidden by reused free memory nor inflated by memory an earlier phase left behind. Returns
    /// whether any memory was released (always false outside glibc).
    @discardableResult
    static func releaseFreeMemory() -> Bool {
        #if canImport(Glibc)
        return malloc_trim(0) == 1
        #else
        return false
        #endif
    }

    /// Resets `VmHWM` to the current resident set (writes 5 to /proc/self/clear_refs; ignored where not allowed).
    static func resetPeak() {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
        handle.write(Data("5".utf8))
        try? handle.close()
    }

    private static func statusField(_ name: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }
}
