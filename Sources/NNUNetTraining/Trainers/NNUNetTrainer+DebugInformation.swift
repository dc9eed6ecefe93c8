import Foundation
import NNUNetCore

extension NNUNetTrainer {
    /// What a run was started with, as v1's `debug.json` in the fold folder: the trainer, the configuration (network
    /// topology, patch and batch size), the effective hyperparameters, the seed, the plans file and the cases of this
    /// fold. Written when training starts (atomically), for users comparing runs; nothing reads it back.
    public func debugInformation() throws -> [String: Any] {
        let encoder = JSONEncoder()
        func object<T: Encodable>(_ value: T) throws -> Any {
            try JSONSerialization.jsonObject(with: encoder.encode(value), options: [.fragmentsAllowed])
        }
        return [
            "trainer": Self.trainerName,
            "configuration": try object(configuration),
            "hyperparameters": try object(hyperparameters),
            "seed": String(seed),
            "plans_file": plansFile?.path ?? NSNull(),
            "output_folder": outputFolder.path,
            "fold": configuration.fold.map { $0 as Any } ?? "all",
            "train_cases": trainingCases,
            "val_cases": validationCases,
            "num_parameters": network?.parameterCount ?? 0,
            "threads": ThreadSettings.defaultThreads,
            "warnings": warnings,
            "world_size": worldSize,
        ]
    }

    /// Writes ``debugInformation()`` to `debug.json` in the output folder (sorted keys, indented).
    public func writeDebugInformation() throws {
        let data = try JSONSerialization.data(withJSONObject: try debugInformation(),
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data, to: outputFolder.appendingPathComponent("debug.json"))
    }
}
