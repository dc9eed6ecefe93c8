import Foundation
import Testing
@testable import NNUNetCore

/// ``ThreadSettings/defaultThreads`` is a task-local value: bound per scope, never set for the process.
/// (The process-wide settings, OpenBLAS's thread count and the allocator, are tested with a prediction in
/// NNUNetTrainingTests' "Process-wide settings are the application's", which also covers ``AllocatorTuning``.)
@Suite("Thread settings")
struct ThreadSettingsTests {
    @Test("the default is the processor count; a binding holds inside its scope only, at least 1")
    func scopedBinding() {
        #expect(ThreadSettings.processorCount == max(1, ProcessInfo.processInfo.activeProcessorCount))
        #expect(ThreadSettings.defaultThreads == ThreadSettings.processorCount)
        ThreadSettings.withThreads(3) {
            #expect(ThreadSettings.defaultThreads == 3)
            ThreadSettings.withThreads(0) { #expect(ThreadSettings.defaultThreads == 1) }
            #expect(ThreadSettings.defaultThreads == 3)
        }
        #expect(ThreadSettings.defaultThreads == ThreadSettings.processorCount)
    }

    @Test("parallelFor's worker threads see the caller's binding")
    func parallelForCarriesTheBinding() {
        let seen = LockedValue<[Int]>([])
        ThreadSettings.withThreads(5) {
            parallelFor(8, threads: 4) { _ in
                let value = ThreadSettings.defaultThreads
                seen.withLock { $0.append(value) }
            }
        }
        #expect(seen.withLock { $0 }.count == 4 && seen.withLock { $0 }.allSatisfy { $0 == 5 })
    }

    @Test("child tasks inherit the binding; other tasks do not see it")
    func tasks() async {
        await ThreadSettings.$defaultThreads.withValue(2) {
            await withTaskGroup(of: Int.self) { group in
                group.addTask { ThreadSettings.defaultThreads }
                for await value in group { #expect(value == 2) }
            }
        }
        let detached = await Task.detached { ThreadSettings.defaultThreads }.value
        #expect(detached == ThreadSettings.processorCount)
    }
}
