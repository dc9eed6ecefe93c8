import Foundation

/// Task ids and `TaskXXX_NAME` folder names (reference sheet §1).
public enum TaskLocator {
    /// `TaskXXX_NAME` for an id and a name (three-digit, zero-padded id).
    public static func folderName(id: Int, name: String) -> String {
        "Task" + String(format: "%03d", id) + "_" + name
    }

    /// Splits `Task004_Hippocampus` (or MSD's `Task04_Hippocampus`) into id and name; nil if it does not match.
    public static func parse(_ folderName: String) -> (id: Int, name: String)? {
        guard folderName.hasPrefix("Task"), let underscore = folderName.firstIndex(of: "_") else { return nil }
        let digits = folderName[folderName.index(folderName.startIndex, offsetBy: 4)..<underscore]
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let id = Int(digits) else { return nil }
        let name = String(folderName[folderName.index(after: underscore)...])
        guard !name.isEmpty else { return nil }
        return (id, name)
    }

    /// Resolves what a user typed (`4`, `004`, `Task004`, `Task004_Hippocampus`) to the task folder name, looking in
    /// the raw, cropped, preprocessed and trained-model folders, as v1's `convert_id_to_task_name` does.
    ///
    /// - Throws: ``CoreError/unknownTask(_:searched:)`` when nothing matches, ``CoreError/ambiguousTask(id:names:)``
    ///   when one id has several names.
    public static func resolve(_ task: String, paths: NNUNetPaths) throws -> String {
        var roots: [URL] = []
        if let raw = try? paths.rawData() { roots.append(raw) }
        if let cropped = try? paths.croppedData() { roots.append(cropped) }
        if let preprocessed = paths.preprocessed { roots.append(preprocessed) }
        if let models = try? paths.trainedModels() {
            roots += NetworkConfiguration.allCases.map { models.appendingPathComponent($0.rawValue, isDirectory: true) }
        }
        let found = Set(roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { parse($0) != nil }
        })
        if parse(task) != nil, found.contains(task) { return task }
        let digits = task.hasPrefix("Task") ? String(task.dropFirst(4).prefix { $0.isNumber }) : task
        guard let id = Int(digits) else {
            throw CoreError.unknownTask(task, searched: roots.map(\.path))
        }
        let names = found.filter { parse($0)?.id == id }.sorted()
        guard let first = names.first else { throw CoreError.unknownTask(task, searched: roots.map(\.path)) }
        guard names.count == 1 else { throw CoreError.ambiguousTask(id: id, names: names) }
        return first
    }
}
