import Foundation
@testable import NNUNetCore
import Testing

/// Naive multi-index helpers for the reference side.
private func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        index[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return index
}

private func flatIndex(_ index: [Int], _ shape: [Int]) -> Int {
    zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
}

@Suite("Tensor ops: elementwise, reductions, shapes")
struct TensorOpsTests {
    @Test("broadcast arithmetic matches a naive loop",
          arguments: [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [3, 1]), ([2, 1, 4], [2, 3, 1]), ([4], [2, 3, 4]),
                      ([2, 3, 4], [])])
    func broadcasting(_ aShape: [Int], _ bShape: [Int]) {
        let a = randomTensor(aShape, seed: 30), b = randomTensor(bShape, seed: 31) + 3
        let rank = max(aShape.count, bShape.count)
        let pa = [Int](repeating: 1, count: rank - aShape.count) + aShape
        let pb = [Int](repeating: 1, count: rank - bShape.count) + bShape
        let outShape = (0..<rank).map { max(pa[$0], pb[$0]) }
        let results = [a + b, a - b, a * b, a / b]
        let ops: [(Float, Float) -> Float] = [{ $0 + $1 }, { $0 - $1 }, { $0 * $1 }, { $0 / $1 }]
        for (result, op) in zip(results, ops) {
            #expect(result.shape == outShape)
            var expected = [Float](repeating: 0, count: outShape.reduce(1, *))
            for i in 0..<expected.count {
                let index = multiIndex(i, outShape)
                let ia = flatIndex((0..<rank).map { pa[$0] == 1 ? 0 : index[$0] }, pa)
                let ib = flatIndex((0..<rank).map { pb[$0] == 1 ? 0 : index[$0] }, pb)
                expected[i] = op(a.data[ia], b.data[ib])
            }
            #expect(result.data == expected)
        }
    }

    @Test("scalar ops and unary functions")
    func scalars() {
        let x = Tensor(shape: [2, 2], data: [1, 2, 4, 8])
        #expect((x + 1).data == [2, 3, 5, 9])
        #expect((1 - x).data == [0, -1, -3, -7])
        #expect((x * 2).data == [2, 4, 8, 16])
        #expect((x / 2).data == [0.5, 1, 2, 4])
        #expect((8 / x).data == [8, 4, 2, 1])
        #expect((-x).data == [-1, -2, -4, -8])
        #expect(mismatch(x.log().data, [Float(0), Foundation.log(Float(2)), Foundation.log(Float(4)), Foundation.log(Float(8))]) == nil)
        #expect(mismatch(x.exp().data, [Float](arrayLiteral: Foundation.exp(1), Foundation.exp(2), Foundation.exp(4), Foundation.exp(8))) == nil)
        #expect(x.squareRoot().data[2] == 2)
    }

    @Test("sum and mean over chosen axes", arguments: [[0], [1], [2, 3], [0, 2], [-1], [0, 1, 2, 3]])
    func reductions(_ axes: [Int]) {
        let shape = [2, 3, 4, 5]
        let x = randomTensor(shape, seed: 32)
        let reduced = Set(axes.map { $0 < 0 ? $0 + 4 : $0 })
        let kept = (0..<4).map { reduced.contains($0) ? 1 : shape[$0] }
        var expected = [Double](repeating: 0, count: kept.reduce(1, *))
        for i in 0..<x.count {
            let index = multiIndex(i, shape)
            expected[flatIndex((0..<4).map { reduced.contains($0) ? 0 : index[$0] }, kept)] += Double(x.data[i])
        }
        let s = x.sum(axes: axes, keepDims: true)
        #expect(s.shape == kept)
        #expect(mismatch(s.data, expected, relative: 1e-6, absolute: 1e-6) == nil)
        #expect(x.sum(axes: axes).shape == (0..<4).filter { !reduced.contains($0) }.map { shape[$0] })
        let n = Double(reduced.map { shape[$0] }.reduce(1, *))
        #expect(mismatch(x.mean(axes: axes, keepDims: true).data, expected.map { $0 / n }, relative: 1e-6) == nil)
        #expect(x.sum().shape == [])
    }

    @Test("full sums of large tensors (threaded path) match a float64 loop")
    func largeSum() {
        let x = randomTensor([3, 100_003], seed: 33)
        let expected = x.data.reduce(0.0) { $0 + Double($1) }
        #expect(abs(Double(x.sum().item) - expected) <= 1e-6 * x.data.reduce(0.0) { $0 + abs(Double($1)) })
        #expect(abs(Double(x.mean().item) - expected / Double(x.count)) <= 1e-6)
    }

    @Test("slicing, padding, concatenation and reshape")
    func shapes() {
        let x = Tensor(shape: [1, 2, 2, 3], data: (0..<12).map(Float.init))
        let s = x.sliced([0..<1, 1..<2, 0..<2, 1..<3])
        #expect(s.shape == [1, 1, 2, 2])
        #expect(s.data == [7, 8, 10, 11])
        let p = Tensor(shape: [1, 2], data: [1, 2]).padded([(0, 0), (1, 2)])
        #expect(p.shape == [1, 5])
        #expect(p.data == [0, 1, 2, 0, 0])
        let a = Tensor(shape: [2, 1, 2], data: [1, 2, 3, 4]), b = Tensor(shape: [2, 2, 2], data: [5, 6, 7, 8, 9, 10, 11, 12])
        let c = concat([a, b], axis: 1)
        #expect(c.shape == [2, 3, 2])
        #expect(c.data == [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
        #expect(x.reshaped([2, -1]).shape == [2, 6])
        #expect(x.reshaped([2, -1]).data == x.data)
    }

    @Test("one-hot and argmax")
    func oneHotArgmax() {
        let labels = Tensor(shape: [2, 1, 3], data: [0, 2, 1, 1, 1, 0])
        let encoded = Tensor.oneHot(labels, classCount: 3)
        #expect(encoded.shape == [2, 3, 3])
        #expect(encoded.data == [1, 0, 0, 0, 0, 1, 0, 1, 0, /* n=1 */ 0, 0, 1, 1, 1, 0, 0, 0, 0])
        #expect(encoded.argmax(axis: 1).data == [0, 2, 1, 1, 1, 0])
        #expect(encoded.argmax(axis: 1).shape == [2, 3])
        // Ties go to the first index, like numpy.
        #expect(Tensor(shape: [1, 3, 1], data: [2, 5, 5]).argmax().data == [1])
    }
}
