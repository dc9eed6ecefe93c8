#if canImport(Glibc)
import CMalloc
import COpenBLAS
import Foundation
import Glibc
import NNUNetCore
import Testing
@testable import NNUNetTraining

/// The library leaves OpenBLAS's thread count and glibc's allocator settings as the application set them, unless the
/// application calls ``ProcessTuning/apply(_:)`` (which also covers ``AllocatorTuning``).
///
/// Both settings are process-wide, and whether glibc maps a block also depends on what other threads freed before, so
/// the checks run in a fresh process: the test binary itself, started again with only ``childChecks()`` selected and
/// `NNUNET_PROCESS_SETTINGS_CHILD=1` set. The process running the other tests is never changed.
@Suite("Process-wide settings are the application's")
struct ProcessSettingsTests {
    static let childVariable = "NNUNET_PROCESS_SETTINGS_CHILD"
    static let isChild = ProcessInfo.processInfo.environment[childVariable] == "1"

    /// Whether glibc served `pointer` with a mapping of its own: bit 1 (`IS_MMAPPED`) of the chunk's size field, the
    /// word before the pointer (glibc malloc.c's chunk layout).
    static func isMapped(_ pointer: UnsafeMutableRawPointer) -> Bool {
        (pointer - MemoryLayout<UInt>.size).load(as: UInt.self) & 0x2 != 0
    }

    /// Whether a block of `size` bytes is mapped: by the chunk header, and `mallinfo2().hblks` (mapped blocks) counts
    /// it while it is held.
    static func mapsBlock(of size: Int) throws -> Bool {
        let before = mallinfo2().hblks
        let block = try #require(malloc(size))
        defer { free(block) }
        let mapped = isMapped(block)
        #expect(mallinfo2().hblks == before + (mapped ? 1 : 0), "mallinfo2().hblks disagrees for \(size) bytes")
        return mapped
    }

    @Test("a prediction leaves the app's OpenBLAS threads and mmap threshold; ProcessTuning.apply() sets both",
          .enabled(if: !isChild))
    func inFreshProcess() throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--testing-library", "swift-testing", "--filter", "ProcessSettingsTests/childChecks"]
        process.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: "1"]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(executable.path) failed:\n\(text)")
        #expect(text.contains("the checks themselves\" passed") && text.contains("Test run with 1 test"),
                "the child did not run its test:\n\(text)")
    }

    /// Run only by ``inFreshProcess()``, in its own process.
    @Test("child: the checks themselves", .enabled(if: isChild, "runs only in the process inFreshProcess() starts"))
    func childChecks() throws {
        // The application's own settings: 3 OpenBLAS threads, blocks of 16 MiB and more mapped individually.
        openblas_set_num_threads(3)
        try #require(openblas_get_num_threads() == 3)
        let appThreshold = 16 << 20, probe = 40 << 20
        try #require(mallopt(M_MMAP_THRESHOLD, Int32(appThreshold)) == 1)
        #expect(try Self.mapsBlock(of: probe))

        // The library at work: a whole folder prediction (the network multiplies matrices through OpenBLAS).
        let identifier = try #require(try V1CTModelTests.caseIdentifiers().first)
        try TestSupport.withTemporaryFolder { scratch in
            var options = FolderPredictor.Options()
            options.usesMirroring = false
            options.threads = 2
            let summary = try FolderPredictor(modelFolder: V1CTModelTests.trainerFolder, options: options)
                .predict(.files([FolderPredictorTests.image(identifier)]), into: scratch)
            #expect(summary.predicted == [identifier])
            // Still v1's labels with OpenBLAS threads on top of ours.
            #expect(try FolderPredictorTests.differing(identifier, in: scratch, v1: "pred_notta") == 0)
        }
        #expect(openblas_get_num_threads() == 3 && ProcessTuning.blasThreads == 3)
        #expect(try Self.mapsBlock(of: probe), "the library changed the application's mmap threshold")

        // Opting in sets both. AllocatorTuning: glibc's default would map a 40 MiB block (its dynamic threshold stops
        // at 32 MiB); tuned, a heap serves it. (Arenas of threads other than the main one grow in heaps of at most
        // 64 MiB, so larger blocks made there are always mapped.) Above the limit blocks are still mapped, and
        // returned to the system when freed.
        #expect(ProcessTuning.apply() == .recommended)
        #expect(openblas_get_num_threads() == 1 && ProcessTuning.blasThreads == 1)
        #expect(try !Self.mapsBlock(of: probe))
        #expect(try Self.mapsBlock(of: AllocatorTuning.reusableBufferLimit + (1 << 20)))
        #expect(AllocatorTuning.reuseLargeBuffers())
    }
}
#endif
