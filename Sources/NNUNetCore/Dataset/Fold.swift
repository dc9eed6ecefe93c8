import Foundation

/// A cross-validation fold: a number of the splits file (`0` ... `4` for v1's default 5-fold split, or beyond) or
/// `all` (train on every case, v1 `nnUNet_train ... all`).
///
/// ``description`` is the command-line spelling (`0`, `all`); ``folderName`` the fold folder inside a trainer folder
/// (`fold_0`, `all`), as v1 names them. Folds sort by number, `all` last.
///
/// ```swift
/// let fold = try Fold(validating: "all")
/// let folder = trainerFolder.appendingPathComponent(fold.folderName)   // .../all
/// ```
public enum Fold: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The fold with this number (not negative).
    case index(Int)
    /// Every case (v1 fold `all`).
    case all

    /// v1's default folds of a 5-fold cross-validation: 0 to 4.
    public static let defaultCrossValidation: [Fold] = (0..<5).map { .index($0) }

    /// Parses a fold as the user typed it: a non-negative number or `all`.
    /// - Throws: ``CoreError/invalidFold(_:)`` naming the value.
    public init(validating string: String) throws {
        if string == "all" {
            self = .all
        } else if let index = Int(string), index >= 0 {
            self = .index(index)
        } else {
            throw CoreError.invalidFold(string)
        }
    }

    /// The fold of a fold folder name (`fold_3`, `all`); nil for any other name.
    public init?(folderName: String) {
        if folderName == "all" {
            self = .all
        } else if folderName.hasPrefix("fold_"), let index = Int(folderName.dropFirst("fold_".count)), index >= 0 {
            self = .index(index)
        } else {
            return nil
        }
    }

    /// The fold with this number, or `all` for nil (the convention of `TrainingConfiguration.fold`).
    public init(index: Int?) { self = index.map { .index($0) } ?? .all }

    /// The number, or nil for `all`.
    public var index: Int? {
        if case let .index(index) = self { return index }
        return nil
    }

    /// The command-line spelling: `0`, `1`, ... or `all`.
    public var rawValue: String { index.map(String.init) ?? "all" }

    /// Same as ``rawValue``.
    public var description: String { rawValue }

    /// The fold folder inside a trainer folder, as v1 names it: `fold_0`, `fold_1`, ... or `all`.
    public var folderName: String { index.map { "fold_\($0)" } ?? "all" }

    /// Numbers in order, `all` after every number.
    public static func < (lhs: Fold, rhs: Fold) -> Bool {
        switch (lhs, rhs) {
        case let (.index(a), .index(b)): return a < b
        case (.index, .all): return true
        case (.all, _): return false
        }
    }

    /// Decodes v1's JSON spelling: a number, or the string `all` (a number in a string is accepted too).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let index = try? container.decode(Int.self) {
            guard index >= 0 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "fold \(index) is negative")
            }
            self = .index(index)
            return
        }
        let text = try container.decode(String.self)
        do { self = try Fold(validating: text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(error)")
        }
    }

    /// Encodes as v1 does: a number, or the string `all`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .index(index): try container.encode(index)
        case .all: try container.encode("all")
        }
    }
}
