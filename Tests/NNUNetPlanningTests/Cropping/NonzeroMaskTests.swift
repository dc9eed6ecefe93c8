import Testing
@testable import NNUNetPlanning

@Suite struct NonzeroMaskTests {
    /// A hollow 5³ shell inside a 7³ volume: its 3³ cavity is filled; a tunnel to the border keeps it open.
    @Test func enclosedHolesAreFilledOpenOnesAreNot() {
        let shape = [7, 7, 7]
        func index(_ z: Int, _ y: Int, _ x: Int) -> Int { (z * 7 + y) * 7 + x }
        var shell = [Float](repeating: 0, count: 343)
        for z in 1...5 { for y in 1...5 { for x in 1...5 where [z, y, x].contains(1) || [z, y, x].contains(5) {
            shell[index(z, y, x)] = 1
        } } }
        let filled = NonzeroMask.make(channels: [shell], shape: shape)
        #expect(filled[index(3, 3, 3)] && filled[index(2, 4, 2)])
        #expect(!filled[index(0, 0, 0)] && !filled[index(6, 3, 3)])
        #expect(NonzeroMask.boundingBox(filled, shape: shape) == [[1, 6], [1, 6], [1, 6]])
        // Open a face-connected tunnel from the cavity to the border along x: the cavity stays empty.
        var open = shell
        open[index(3, 3, 5)] = 0
        let notFilled = NonzeroMask.make(channels: [open], shape: shape)
        #expect(!notFilled[index(3, 3, 3)])
        #expect(NonzeroMask.boundingBox([Bool](repeating: false, count: 343), shape: shape) == nil)
    }

    @Test func anyModalityCountsAsNonzero() {
        let a: [Float] = [0, 0, 1, 0], b: [Float] = [0, 2, 0, 0]
        let mask = NonzeroMask.make(channels: [a, b], shape: [1, 1, 4])
        #expect(mask == [false, true, true, false])
        #expect(NonzeroMask.crop([10, 11, 12, 13], shape: [1, 1, 4], to: [[0, 1], [0, 1], [1, 3]]) == [11, 12])
    }
}
