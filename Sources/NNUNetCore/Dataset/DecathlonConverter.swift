import Foundation

/// Converts a Medical Segmentation Decathlon task folder into nnU-Net's raw layout (v1
/// `nnUNet_convert_decathlon_task`, reference sheet §1).
///
/// - 3D images are copied byte for byte as `CASE_0000.nii.gz`; 4D images are split along their fourth axis into
///   `CASE_0000.nii.gz`, `CASE_0001.nii.gz`, ..., each with the spatial geometry and the voxel type of the source.
/// - `labelsTr/` and `dataset.json` are copied unchanged. Hidden files (`._x`, `.DS_Store`) are skipped, never deleted:
///   unlike v1, the input folder is not modified.
/// - The result is assembled in a temporary folder and renamed into place, so an interrupted conversion leaves no
///   half-written task; an existing task folder of the same name is replaced.
public enum DecathlonConverter {
    /// Converts `msdFolder` into `rawDataFolder/TaskXXX_NAME` and returns that folder.
    ///
    /// - Parameters:
    ///   - msdFolder: `TaskXX_NAME` (id and name are taken from the folder name) or any folder with a dataset.json
    ///     whose `name` is used (then `outputTaskID` is required).
    ///   - outputTaskID: overrides the id.
    ///   - rawDataFolder: `$nnUNet_raw_data_base/nnUNet_raw_data` (created if missing).
    ///   - threads: files converted in parallel.
    ///   - progress: called with (files done, total) after each file.
    @discardableResult
    public static func convert(msdFolder: URL, outputTaskID: Int? = nil, rawDataFolder: URL, threads: Int = 2,
                               progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> URL {
        let description = try DatasetDescription.load(from: msdFolder.appendingPathComponent("dataset.json"))
        let parsed = TaskLocator.parse(msdFolder.lastPathComponent)
        guard let id = outputTaskID ?? parsed?.id else {
            throw CoreError.invalidTaskFolder(
                path: msdFolder.path, reason: "its name is not TaskXX_NAME, so the task id is unknown. "
                    + "Pass -output_task_id ID (custom tasks should use ids >= 500).")
        }
        guard (1...999).contains(id) else {
            throw CoreError.invalidTaskFolder(path: msdFolder.path, reason: "task id \(id) is not in 1...999")
        }
        let rawName = parsed?.name ?? description.name ?? ""
        let name = rawName.replacingOccurrences(of: " ", with: "_")
        guard !name.isEmpty else {
            throw CoreError.invalidTaskFolder(path: msdFolder.path, reason: "no task name: the folder is not named "
                                              + "TaskXX_NAME and dataset.json has no \"name\"")
        }
        for sub in ["imagesTr", "labelsTr"] {
            let url = msdFolder.appendingPathComponent(sub)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CoreError.invalidTaskFolder(path: msdFolder.path, reason: "the folder \(sub)/ is missing")
            }
        }

        let fm = FileManager.default
        try createFolder(rawDataFolder)
        let finalFolder = rawDataFolder.appendingPathComponent(TaskLocator.folderName(id: id, name: name))
        let staging = rawDataFolder.appendingPathComponent(".partial-\(UUID().uuidString)-\(finalFolder.lastPathComponent)")
        do {
            var jobs: [(source: URL, destination: URL, split: Bool)] = []
            for sub in ["imagesTr", "imagesTs", "labelsTr"] {
                let source = msdFolder.appendingPathComponent(sub)
                guard fm.fileExists(atPath: source.path) else { continue }
                let target = staging.appendingPathComponent(sub)
                try createFolder(target)
                for file in try RawTask.niftiFiles(in: source) {
                    let isImage = sub != "labelsTr"
                    let destinationName = isImage ? String(file.dropLast(7)) + "_0000.nii.gz" : file
                    jobs.append((source.appendingPathComponent(file), target.appendingPathComponent(destinationName),
                                 isImage))
                }
            }
            try AtomicFile.copy(msdFolder.appendingPathComponent("dataset.json"),
                                to: staging.appendingPathComponent("dataset.json"))

            let failures = LockedValue<[String: any Error]>([:])
            let done = LockedValue(0)
            parallelFor(jobs.count, threads: threads) { range in
                for index in range {
                    let job = jobs[index]
                    do {
                        if job.split { try convertImage(job.source, firstChannelDestination: job.destination) }
                        else { try AtomicFile.copy(job.source, to: job.destination) }
                    } catch {
                        failures.withLock { $0[job.source.path] = error }
                    }
                    let count = done.withLock { value -> Int in value += 1; return value }
                    progress?(count, jobs.count)
                }
            }
            if let (_, error) = failures.withLock({ $0 }).sorted(by: { $0.key < $1.key }).first { throw error }

            if fm.fileExists(atPath: finalFolder.path) { try fm.removeItem(at: finalFolder) }
            try AtomicFile.moveIntoPlace(staging, finalFolder)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
        return finalFolder
    }

    /// Copies a 3D image as is, or splits a 4D image into `_0000`, `_0001`, ... next to `firstChannelDestination`.
    static func convertImage(_ source: URL, firstChannelDestination: URL) throws {
        let header = try NIfTI.readHeader(source)
        if header.channels == 1 {
            try AtomicFile.copy(source, to: firstChannelDestination)
            return
        }
        let volume = try NIfTI.read(source)
        let stem = String(firstChannelDestination.lastPathComponent.dropLast("_0000.nii.gz".count))
        for channel in 0..<volume.channels {
            let url = firstChannelDestination.deletingLastPathComponent()
                .appendingPathComponent(RawTask.imageFileName(identifier: stem, modality: channel))
            try NIfTI.write(volume.channel(channel), to: url, dataType: header.dataType)
        }
    }

    static func createFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw CoreError.fileSystem(path: url.path, reason: "cannot create folder (\(error.localizedDescription))")
        }
    }
}
