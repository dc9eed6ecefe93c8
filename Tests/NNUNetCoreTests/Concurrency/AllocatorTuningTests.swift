import Testing
@testable import NNUNetCore

#if canImport(Glibc)
import CMalloc
import Glibc

@Suite("Allocator tuning")
struct AllocatorTuningTests {
    @Test("glibc accepts the thresholds; a 48 MiB block comes from the heap, a block above the limit is mapped")
    func largeBlocksStayInTheHeap() {
        #expect(AllocatorTuning.reuseLargeBuffers())
        // mallinfo2().hblkhd counts the bytes of blocks served by their own mmap. glibc's default would map a
        // 48 MiB block (its dynamic threshold stops at 32 MiB); after tuning a heap serves it. (Arenas of threads
        // other than the main one grow in heaps of at most 64 MiB, so larger blocks made there are always mapped.)
        let mappedBefore = mallinfo2().hblkhd
        let size = 48 << 20
        let block = malloc(size)
        #expect(block != nil)
        #expect(mallinfo2().hblkhd - mappedBefore < size)
        free(block)
        // Above the limit, blocks are still mapped individually (returned to the system when freed).
        let huge = malloc(AllocatorTuning.reusableBufferLimit + (1 << 20))
        #expect(huge != nil)
        #expect(mallinfo2().hblkhd - mappedBefore > AllocatorTuning.reusableBufferLimit)
        free(huge)
    }
}
#endif
