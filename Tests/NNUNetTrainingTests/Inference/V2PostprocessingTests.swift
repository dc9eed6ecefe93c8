import Foundation
import NNUNetCore
import NNUNetEvaluation
@testable import NNUNetTraining
import Testing

/// v2's `postprocessing.pkl` read with the restricted unpickler and applied as `nnUNetv2_apply_postprocessing` does
/// (26-connectivity, voxel counts, ties kept, `background_label`), on synthetic label maps and pickles.
@Suite("v2 postprocessing.pkl")
struct V2PostprocessingTests {
    static let function = V2Postprocessing.largestComponentFunction

    static func pickle(_ functions: [PickleValue], _ keywords: [[(String, PickleValue)]]) throws -> URL {
        let value = PickleValue.tuple([
            .list(functions),
            .list(keywords.map { .dict($0.map { .init(key: .string($0.0), value: $0.1) }) }),
        ])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("postprocessing-\(UUID()).pkl")
        try PickleWriter.write(value, to: url)
        return url
    }

    /// A 1 × 4 × 4 map (z, y, x):
    /// ```
    /// 1 1 0 0
    /// 1 0 0 0
    /// 0 0 2 0
    /// 0 0 0 2
    /// ```
    /// Label 1: one component of 3. Label 2: two diagonal voxels, one component with 26-connectivity (two with 6).
    /// Labels {1, 2}: the 1s and the 2s are not neighbours: components of 3 and 2.
    static let map: [Float] = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2]

    @Test("labels_or_regions as a list of labels, a region tuple and a single label; ties keep both")
    func apply() throws {
        let union = try Self.pickle([.reference(Self.function)],
                                    [[("labels_or_regions", .list([.int(1), .int(2)]))]])
        defer { try? FileManager.default.removeItem(at: union) }
        let postprocessing = try V2Postprocessing(contentsOf: union)
        #expect(postprocessing.steps == [.init(labels: [1, 2], backgroundLabel: 0)])
        var labels = Self.map
        postprocessing.apply(to: &labels, shape: [1, 4, 4])
        #expect(labels == [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])

        // Label 2 alone: its two diagonal voxels are one component (26-connectivity), nothing is removed.
        let single = try Self.pickle([.reference(Self.function)], [[("labels_or_regions", .int(2))]])
        defer { try? FileManager.default.removeItem(at: single) }
        labels = Self.map
        try V2Postprocessing(contentsOf: single).apply(to: &labels, shape: [1, 4, 4])
        #expect(labels == Self.map)

        // A region tuple with background_label 7, two steps: the second sees the first's result.
        let steps = try Self.pickle([.reference(Self.function), .reference(Self.function)], [
            [("labels_or_regions", .list([.tuple([.int(1), .int(2)])])), ("background_label", .int(7))],
            [("labels_or_regions", .int(7))],
        ])
        defer { try? FileManager.default.removeItem(at: steps) }
        labels = Self.map
        try V2Postprocessing(contentsOf: steps).apply(to: &labels, shape: [1, 4, 4])
        // Step 1 turns the 2s into 7s; step 2: the two 7s are one diagonal component, kept.
        #expect(labels == [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 7])

        // Ties: two separate single voxels of label 3 both stay.
        var tie: [Float] = [3, 0, 0, 3]
        V2Postprocessing(steps: [.init(labels: [3])]).apply(to: &tie, shape: [1, 1, 4])
        #expect(tie == [3, 0, 0, 3])
    }

    @Test("an empty postprocessing (v2 found none helps) changes nothing")
    func empty() throws {
        let url = try Self.pickle([], [])
        defer { try? FileManager.default.removeItem(at: url) }
        let postprocessing = try V2Postprocessing(contentsOf: url)
        #expect(postprocessing.steps.isEmpty)
        var labels = Self.map
        postprocessing.apply(to: &labels, shape: [1, 4, 4])
        #expect(labels == Self.map)
    }

    @Test("malformed pickles name the file and the entry")
    func refusals() throws {
        let cases: [([PickleValue], [[(String, PickleValue)]], String)] = [
            ([.reference(Self.function)], [], "1 function(s) but 0 keyword dict(s)"),
            ([.reference(Self.function)], [[("labels_or_regions", .int(1)), ("connectivity", .int(1))]],
             "unknown keyword 'connectivity'"),
            ([.reference(Self.function)], [[("labels_or_regions", .list([.int(0), .int(1)]))]],
             "contains the background label 0"),
            ([.reference(Self.function)], [[("labels_or_regions", .string("liver"))]], "labels_or_regions is not"),
            ([.reference(Self.function)], [[("background_label", .int(0))]], "has no labels_or_regions"),
        ]
        for (functions, keywords, fragment) in cases {
            let url = try Self.pickle(functions, keywords)
            defer { try? FileManager.default.removeItem(at: url) }
            do {
                _ = try V2Postprocessing(contentsOf: url)
                Issue.record("accepted: \(fragment)")
            } catch {
                let message = String(describing: error)
                #expect(message.contains(fragment) && message.contains(url.path), "\(message)")
            }
        }
        // Any other function is refused by the unpickler, naming it.
        let other = try Self.pickle([.reference("os.system")], [[("labels_or_regions", .int(1))]])
        defer { try? FileManager.default.removeItem(at: other) }
        do {
            _ = try V2Postprocessing(contentsOf: other)
            Issue.record("os.system accepted")
        } catch {
            #expect(String(describing: error).contains("os.system"))
        }
    }
}
