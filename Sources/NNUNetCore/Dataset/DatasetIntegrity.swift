import Foundation

/// One problem found in a raw task: which case and file, and what to do about it.
public struct IntegrityProblem: Sendable, Equatable, CustomStringConvertible {
    /// The case identifier, when the problem belongs to a case.
    public var caseIdentifier: String?
    /// The file, relative to the task folder (e.g. `labelsTr/case_001.nii.gz`).
    public var file: String?
    /// What is wrong and how to fix it.
    public var message: String

    /// The message as shown to the user: `case ID: FILE: message`, leaving out the parts that are nil.
    public var description: String {
        var prefix = ""
        if let caseIdentifier { prefix += "case \(caseIdentifier): " }
        if let file { prefix += "\(file): " }
        return prefix + message
    }
}

/// The result of ``DatasetIntegrity/verify(taskFolder:threads:)``: every problem, not only the first.
public struct IntegrityReport: Sendable {
    /// Errors: nnU-Net cannot use the task until they are fixed.
    public var problems: [IntegrityProblem]
    /// Advice that does not stop the pipeline (e.g. mixed orientations).
    public var warnings: [String]
    /// Number of training and test cases checked.
    public var trainingCases: Int
    /// Number of test cases checked.
    public var testCases: Int

    /// True when there are no ``problems`` (warnings do not count).
    public var isOK: Bool { problems.isEmpty }
}

/// v1's `--verify_dataset_integrity` (reference sheet §1): reads every file of a raw task and reports all problems.
///
/// Checks: dataset.json labels start at 0 and are consecutive; no duplicate cases; every listed image (one per
/// modality) and label exists; no unlisted files in imagesTr/labelsTr/imagesTs; every modality has the label's
/// size, spacing, origin and direction (numpy `isclose`); no NaN voxels; label values are declared in dataset.json;
/// test-set modalities are co-registered. Mixed orientations are a warning. Nothing is written.
public enum DatasetIntegrity {
    /// Checks the raw task in `taskFolder` and returns every problem found; cases are read on `threads` threads.
    /// - Throws: ``CoreError`` when the folder does not exist or its dataset.json cannot be read; problems in the
    ///   cases themselves are reported, not thrown.
    public static func verify(taskFolder: URL, threads: Int = ThreadSettings.defaultThreads) throws -> IntegrityReport {
        let task = try RawTask(folder: taskFolder)
        let description = task.description
        var problems: [IntegrityProblem] = []
        var warnings: [String] = []

        for sub in ["imagesTr", "labelsTr"] where !FileManager.default.fileExists(
            atPath: taskFolder.appendingPathComponent(sub).path) {
            problems.append(IntegrityProblem(file: sub + "/", message: "the folder is missing. Put the training "
                                             + "images in imagesTr/ and the label maps in labelsTr/."))
        }
        let expected = description.labelValues
        if expected.first != 0 || zip(expected, expected.dropFirst()).contains(where: { $1 - $0 != 1 }) {
            problems.append(IntegrityProblem(file: "dataset.json", message: "the labels \(expected) must be "
                                             + "consecutive integers starting at 0 (0 = background). Renumber them."))
        }
        if description.modalityCount == 0 {
            problems.append(IntegrityProblem(file: "dataset.json", message: "'modality' is empty. List the input "
                                             + "channels, e.g. {\"0\": \"MRI\"}."))
        }
        let ids = description.trainingIdentifiers
        let duplicates = Dictionary(grouping: ids, by: { $0 }).filter { $1.count > 1 }.keys.sorted()
        for id in duplicates {
            problems.append(IntegrityProblem(caseIdentifier: id, file: "dataset.json", message: "listed more than "
                                             + "once in 'training'. Remove the duplicate entries."))
        }

        // Per-case checks read files, so they run in parallel; results are merged in case order.
        let cases = task.trainingCases
        let allowed = Set(expected.map(Float.init))
        let perCase = LockedValue([[IntegrityProblem]](repeating: [], count: cases.count))
        let orientations = LockedValue([String: Int]())
        parallelFor(cases.count, threads: threads) { range in
            for index in range {
                let (found, orientation) = checkTrainingCase(cases[index], task: task, allowedLabels: allowed)
                perCase.withLock { $0[index] = found }
                if let orientation { orientations.withLock { $0[orientation, default: 0] += 1 } }
            }
        }
        problems += perCase.withLock { $0 }.flatMap { $0 }

        let testCases = task.testCases
        let perTestCase = LockedValue([[IntegrityProblem]](repeating: [], count: testCases.count))
        parallelFor(testCases.count, threads: threads) { range in
            for index in range {
                let found = checkTestCase(testCases[index], task: task)
                perTestCase.withLock { $0[index] = found }
            }
        }
        problems += perTestCase.withLock { $0 }.flatMap { $0 }

        problems += unlistedFiles(in: "imagesTr", expected: cases.flatMap(\.imageFiles), task: task)
        problems += unlistedFiles(in: "labelsTr", expected: cases.compactMap(\.labelFile), task: task)
        if FileManager.default.fileExists(atPath: taskFolder.appendingPathComponent("imagesTs").path) {
            problems += unlistedFiles(in: "imagesTs", expected: testCases.flatMap(\.imageFiles), task: task)
        }

        let seen = orientations.withLock { $0 }
        if seen.count > 1 {
            let list = seen.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) cases)" }.joined(separator: ", ")
            warnings.append("Not all training images have the same axis orientation: \(list). Reorienting the data "
                            + "to one orientation (e.g. fslreorient2std) is strongly recommended.")
        }
        return IntegrityReport(problems: problems, warnings: warnings, trainingCases: cases.count,
                               testCases: testCases.count)
    }

    private static func relative(_ url: URL, _ task: RawTask) -> String {
        url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
    }

    private static func checkTrainingCase(_ item: RawTask.Case, task: RawTask, allowedLabels: Set<Float>)
        -> ([IntegrityProblem], String?) {
        var problems: [IntegrityProblem] = []
        func problem(_ url: URL?, _ message: String) {
            problems.append(IntegrityProblem(caseIdentifier: item.identifier, file: url.map { relative($0, task) },
                                             message: message))
        }
        var label: Volume?
        if let labelFile = item.labelFile {
            if !FileManager.default.fileExists(atPath: labelFile.path) {
                problem(labelFile, "the label file does not exist. Add it, or remove the case from dataset.json "
                        + "'training'.")
            } else {
                do { label = try NIfTI.read(labelFile) } catch { problem(labelFile, "cannot be read: \(error)") }
            }
        }
        if let label {
            let nanCount = label.data.reduce(0) { $0 + ($1.isNaN ? 1 : 0) }
            if nanCount > 0 {
                problem(item.labelFile, "contains \(nanCount) NaN voxels. Label maps must hold integer labels only.")
            }
            let unexpected = Set(label.data.filter { !$0.isNaN && !allowedLabels.contains($0) }).sorted()
            if !unexpected.isEmpty {
                let shown = unexpected.prefix(10).map { $0 == $0.rounded() ? String(Int($0)) : String($0) }
                problem(item.labelFile, "contains label values [\(shown.joined(separator: ", "))] that dataset.json "
                        + "'labels' does not declare (declared: \(allowedLabels.sorted().map { Int($0) })). Add them "
                        + "to dataset.json or correct the label map.")
            }
        }
        var orientation: String?
        for (modality, imageFile) in item.imageFiles.enumerated() {
            guard FileManager.default.fileExists(atPath: imageFile.path) else {
                let name = task.description.modalityNames[modality]
                problem(imageFile, "the image for modality \(modality) ('\(name)') does not exist. Every case needs "
                        + "one file per modality listed in dataset.json, named CASE_XXXX.nii.gz.")
                continue
            }
            let image: Volume
            do { image = try NIfTI.read(imageFile) } catch {
                problem(imageFile, "cannot be read: \(error)")
                continue
            }
            if modality == 0 { orientation = image.geometry.orientationCode }
            let nanCount = image.data.reduce(0) { $0 + ($1.isNaN ? 1 : 0) }
            if nanCount > 0 {
                problem(imageFile, "contains \(nanCount) NaN voxels, which break training. Replace them (e.g. "
                        + "with 0) before planning.")
            }
            if image.channels != 1 {
                problem(imageFile, "has \(image.channels) volumes along its 4th axis. nnU-Net wants one 3D file per "
                        + "modality: run 'nnunet convert-decathlon-task' on MSD-style 4D data.")
            }
            if let label, let mismatch = geometryMismatch(image, label) {
                problem(imageFile, "does not match its label file labelsTr/\(item.identifier).nii.gz in \(mismatch). "
                        + "Image and label must share size, spacing, origin and direction (co-registered); resample "
                        + "the label onto the image grid.")
            }
        }
        return (problems, orientation)
    }

    private static func checkTestCase(_ item: RawTask.Case, task: RawTask) -> [IntegrityProblem] {
        var problems: [IntegrityProblem] = []
        var reference: NIfTI.Header?
        for (modality, imageFile) in item.imageFiles.enumerated() {
            guard FileManager.default.fileExists(atPath: imageFile.path) else {
                problems.append(IntegrityProblem(
                    caseIdentifier: item.identifier, file: relative(imageFile, task),
                    message: "the test image for modality \(modality) does not exist. Add it, or remove the case "
                        + "from dataset.json 'test'."))
                continue
            }
            do {
                let header = try NIfTI.readHeader(imageFile)
                if let reference, header.shape != reference.shape || !header.geometry.isClose(to: reference.geometry) {
                    problems.append(IntegrityProblem(
                        caseIdentifier: item.identifier, file: relative(imageFile, task),
                        message: "does not have the geometry of modality 0. All modalities of a case must be "
                            + "co-registered (same size, spacing, origin and direction)."))
                }
                if reference == nil { reference = header }
            } catch {
                problems.append(IntegrityProblem(caseIdentifier: item.identifier, file: relative(imageFile, task),
                                                 message: "cannot be read: \(error)"))
            }
        }
        return problems
    }

    /// Describes how two volumes' grids differ (nil if they match).
    public static func geometryMismatch(_ a: Volume, _ b: Volume) -> String? {
        func show(_ values: [Double]) -> String { "(" + values.map { String($0) }.joined(separator: ", ") + ")" }
        if a.shape != b.shape { return "size: \(a.shape.reversed()) vs \(b.shape.reversed()) (x, y, z)" }
        let close = { (x: [Double], y: [Double]) in zip(x, y).allSatisfy { abs($0 - $1) <= 1e-8 + 1e-5 * abs($1) } }
        let ga = a.geometry, gb = b.geometry
        if !close(ga.itkSpacing, gb.itkSpacing) { return "spacing: \(show(ga.itkSpacing)) vs \(show(gb.itkSpacing))" }
        if !close(ga.itkOrigin, gb.itkOrigin) { return "origin: \(show(ga.itkOrigin)) vs \(show(gb.itkOrigin))" }
        if !close(ga.itkDirection, gb.itkDirection) {
            return "direction: \(show(ga.itkDirection)) vs \(show(gb.itkDirection))"
        }
        return nil
    }

    private static func unlistedFiles(in sub: String, expected: [URL], task: RawTask) -> [IntegrityProblem] {
        let folder = task.folder.appendingPathComponent(sub)
        guard let present = try? RawTask.niftiFiles(in: folder) else { return [] }
        let listed = Set(expected.map(\.lastPathComponent))
        let list = sub == "imagesTs" ? "'test'" : "'training'"
        return present.filter { !listed.contains($0) }.map {
            IntegrityProblem(file: sub + "/" + $0, message: "is not listed in dataset.json \(list). Add its case to "
                             + "dataset.json or move the file out of \(sub)/.")
        }
    }
}
