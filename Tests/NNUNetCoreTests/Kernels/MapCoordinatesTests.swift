import Foundation
import Testing
@testable import NNUNetCore

@Suite("map_coordinates kernel")
struct MapCoordinatesTests {
    static func randomVolume(_ shape: [Int], seed: UInt64) -> [Float] {
        var random = SeededGenerator(seed: seed)
        return (0..<shape.reduce(1, *)).map { _ in Float(random.nextUniform(in: -2...3)) }
    }

    static func close(_ a: Double, _ b: Double, tolerance: Double = 1e-4) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(b))
    }

    @Test("matches the naive reference at random points", arguments: [0, 1, 3], [true, false])
    func matchesNaive(order: Int, constant: Bool) {
        let shape = [4, 5, 6]
        let input = Self.randomVolume(shape, seed: 3)
        var random = SeededGenerator(seed: 11)
        // Points inside, near the edges and outside (down to −2, up to n + 1).
        let points = (0..<150).map { _ in shape.map { random.nextUniform(in: -2...(Double($0) + 1)) } }
            + [[0, 0, 0], [3, 4, 5], [1.5, 2.5, 0.5], [3, 0, 5]]
        let boundary: InterpolationBoundary = constant ? .constant(-7) : .nearest
        let coordinates = (0..<3).map { d in points.map { $0[d] } }
        let fast = MapCoordinates.map(input, shape: shape, coordinates: coordinates, order: order, boundary: boundary,
                                      threads: 2)
        for (i, p) in points.enumerated() {
            let reference = NaiveInterpolation.value(input, shape: shape, point: p, order: order, boundary: boundary)
            #expect(Self.close(Double(fast[i]), reference), "order \(order) \(boundary) at \(p)")
        }
    }

    @Test("matches scipy 1.17 on a 2D image (golden values)")
    func matchesScipy() {
        // scipy.ndimage.map_coordinates(a, pts, order=o, mode=m, cval=-9) on float64, cast to float32
        // with a = the 20 values below as a 4 x 5 array, pts = [ys, xs]; printed by scipy 1.17.1 in the peer venv.
        let a: [Float] = [1, 5, 2, 7, 3, 0, -2, 4, 1, 6, 3, 3, -1, 2, 8, 2, 0.5, 1.5, -3, 4]
        let ys = [0.3, 1.7, 2.2, -0.4, 3.0, 2.9, 1.5], xs = [0.6, 3.1, -0.7, 2.2, 4.0, 4.3, 2.5]
        let golden: [String: [Double]] = [
            "0c": [5, 2, -9, -9, 4, -9, 2], "0n": [5, 2, 3, 2, 4, 4, 2],
            "1c": [2.02, 2.27, -9, -9, 4, -9, 1.5], "1n": [2.02, 2.27, 2.8, 3, 4, 4.4, 1.5],
            "3c": [2.446214199066162, 2.590287685394287, -9, -9, 4, -9, 0.7818080186843872],
            "3n": [1.9573733806610107, 2.4198122024536133, 3.035982847213745, 2.352264165878296, 4.0,
                   5.145668983459473, 0.9711871147155762],
        ]
        for order in [0, 1, 3] {
            for (suffix, boundary) in [("c", InterpolationBoundary.constant(-9)), ("n", .nearest)] {
                let values = MapCoordinates.map(a, shape: [4, 5], coordinates: [ys, xs], order: order,
                                                boundary: boundary)
                let expected = golden["\(order)\(suffix)"] ?? []
                for i in 0..<values.count {
                    #expect(Self.close(Double(values[i]), expected[i], tolerance: 2e-5), "order \(order)\(suffix) #\(i)")
                }
            }
        }
    }

    @Test("the cubic spline interpolates: integer points give the input")
    func splineInterpolates() {
        let shape = [5, 6, 7]
        let input = Self.randomVolume(shape, seed: 5)
        var points: [[Double]] = []
        for z in 0..<5 { for y in 0..<6 { for x in 0..<7 { points.append([Double(z), Double(y), Double(x)]) } } }
        let values = MapCoordinates.map(input, shape: shape, coordinates: (0..<3).map { d in points.map { $0[d] } },
                                        order: 3, boundary: .constant(0))
        for i in 0..<input.count { #expect(abs(values[i] - input[i]) < 1e-5) }
    }

    @Test("affine sampling equals pointwise sampling; integral shifts copy exactly", arguments: [1, 3])
    func affine(order: Int) {
        let inShape = [6, 7, 8], outShape = [3, 4, 5]
        let input = Self.randomVolume(inShape, seed: 9)
        let angle = 0.4
        let map = AffineCoordinateMap(matrix: [1.1, 0, 0, 0, cos(angle), sin(angle), 0, -sin(angle), cos(angle)],
                                      offset: [0.7, 1.2, 0.4])
        var output = [Float](repeating: 0, count: 60)
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                MapCoordinates.sample(i, inputShape: inShape, into: o, outputShape: outShape, map: map, order: order,
                                      boundary: .constant(0), threads: 2)
            }
        }
        var points: [[Double]] = []
        for z in 0..<3 {
            for y in 0..<4 {
                for x in 0..<5 {
                    let o = [Double(z), Double(y), Double(x)]
                    points.append((0..<3).map { r in (0..<3).reduce(map.offset[r]) { $0 + map.matrix[r * 3 + $1] * o[$1] } })
                }
            }
        }
        let pointwise = MapCoordinates.map(input, shape: inShape, coordinates: (0..<3).map { d in points.map { $0[d] } },
                                           order: order, boundary: .constant(0))
        for i in 0..<60 { #expect(abs(output[i] - pointwise[i]) < 1e-5) }

        // A pure shift by whole voxels is a crop with padding.
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                MapCoordinates.sample(i, inputShape: inShape, into: o, outputShape: outShape,
                                      map: .translation([2, -1, 4]), order: order, boundary: .constant(-5))
            }
        }
        for z in 0..<3 {
            for y in 0..<4 {
                for x in 0..<5 {
                    let (sz, sy, sx) = (z + 2, y - 1, x + 4)
                    let inside = sy >= 0 && sx < 8
                    let expected = inside ? input[(sz * 7 + sy) * 8 + sx] : -5
                    #expect(output[(z * 4 + y) * 5 + x] == expected)
                }
            }
        }
    }

    @Test("per-label linear rule equals one indicator pass per label with threshold 0.5")
    func labelRule() {
        let inShape = [5, 6, 7], outShape = [4, 5, 6]
        var random = SeededGenerator(seed: 21)
        let labels: [Float] = [-1, 0, 1, 2]
        let input = (0..<210).map { _ in labels[Int.random(in: 0..<4, using: &random)] }
        for trial in 0..<5 {
            let a = 0.3 * Double(trial) + 0.1, s = 0.8 + 0.1 * Double(trial)
            let map = AffineCoordinateMap(matrix: [s, 0, 0, 0, s * cos(a), s * sin(a), 0, -s * sin(a), s * cos(a)],
                                          offset: [0.3, -0.4 + Double(trial), 0.9])
            var output = [Float](repeating: 9, count: 120)
            input.withUnsafeBufferPointer { i in
                output.withUnsafeMutableBufferPointer { o in
                    MapCoordinates.sampleLabels(i, inputShape: inShape, into: o, outputShape: outShape, map: map,
                                                threads: 2)
                }
            }
            for z in 0..<4 {
                for y in 0..<5 {
                    for x in 0..<6 {
                        let o = [Double(z), Double(y), Double(x)]
                        let p = (0..<3).map { r in (0..<3).reduce(map.offset[r]) { $0 + map.matrix[r * 3 + $1] * o[$1] } }
                        var expected: Float = 0
                        for label in labels {  // ascending; later labels overwrite
                            let indicator = input.map { $0 == label ? Float(1) : 0 }
                            let v = NaiveInterpolation.value(indicator, shape: inShape, point: p, order: 1,
                                                             boundary: .constant(-1))
                            if v >= 0.5 { expected = label }
                        }
                        #expect(output[(z * 5 + y) * 6 + x] == expected, "trial \(trial) at \(o)")
                    }
                }
            }
        }
    }
}
