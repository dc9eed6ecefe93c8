import Foundation
import NNUNetCore

/// Applies a postprocessing decision to a folder of predictions (used by `predict` and `ensemble`).
///
/// Port of v1 `postprocessing/connected_components.py` `apply_postprocessing_to_folder` (+ `load_postprocessing`).
public enum PostprocessingApplication {
    /// Reads `postprocessing.json` and applies it to every `.nii.gz` in `inputFolder`, writing to `outputFolder`
    /// (created if needed; may equal `inputFolder` to postprocess in place).
    ///
    /// - Returns: the decision that was applied.
    @discardableResult
    public static func apply(postprocessingFile: URL, inputFolder: URL, outputFolder: URL,
                             threads: Int = ThreadSettings.defaultThreads) throws -> PostprocessingDecision {
        let decision = try PostprocessingDecision.read(postprocessingFile)
        try apply(classSets: decision.forWhichClasses, minimumSizes: decision.minValidObjectSizes,
                  inputFolder: inputFolder, outputFolder: outputFolder, threads: threads)
        return decision
    }

    /// Applies "keep the largest component" for `classSets` to every `.nii.gz` of `inputFolder` (or only
    /// `fileNames`), in parallel over files.
    ///
    /// - Throws: the first failing file's error (it names the file).
    public static func apply(classSets: [ClassSet], minimumSizes: [ClassSet: Double]?, inputFolder: URL,
                             outputFolder: URL, fileNames: [String]? = nil,
                             threads: Int = ThreadSettings.defaultThreads) throws {
        let names = try fileNames ?? FolderEvaluation.niftiFiles(in: inputFolder)
        try PostprocessingDetermination.createFolder(outputFolder)
        guard !names.isEmpty else { return }
        var errors = [Error?](repeating: nil, count: names.count)
        let outer = max(1, min(threads, names.count)), inner = max(1, threads / outer)
        errors.withUnsafeMutableBufferPointer { buffer in
            guard let out = buffer.baseAddress else { return }
            parallelFor(names.count, threads: outer) { range in
                for i in range {
                    do {
                        try LargestComponentFilter.apply(input: inputFolder.appendingPathComponent(names[i]),
                                                         output: outputFolder.appendingPathComponent(names[i]),
                                                         classSets: classSets, minimumSizes: minimumSizes,
                                                         threads: inner)
                    } catch {
                        out[i] = error
                    }
                }
            }
        }
        if let error = errors.compactMap({ $0 }).first { throw error }
    }
}
