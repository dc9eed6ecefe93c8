import ArgumentParser
import NNUNetCore
import NNUNetTraining

// The library's option types parsed from v1's spellings. A value that is none of them fails with ArgumentParser's
// message, which lists the allowed values; the help lists them after each option too.

/// `2d`, `3d_lowres`, `3d_fullres` or `3d_cascade_fullres` (the raw values).
extension NetworkConfiguration: ExpressibleByArgument {}

/// `normal`, `fast` or `fastest` (`nnunet predict --mode`).
extension SegmentationExporter.Mode: ExpressibleByArgument {}

/// A non-negative number or `all`. Declare fold arguments with `transform: Fold.parse` so that a bad value fails
/// with ``Fold/init(validating:)``'s message (numbers are open-ended, so there is no list for ArgumentParser to show).
extension Fold: ExpressibleByArgument {
    /// Parses a fold argument (nil for anything but a non-negative number or `all`).
    public init?(argument: String) { try? self.init(validating: argument) }

    /// The command-line spelling (`0`, `all`).
    public var defaultValueDescription: String { rawValue }

    /// For `transform:` of fold arguments and options: the fold, or an error that says what is allowed.
    static func parse(_ argument: String) throws -> Fold { try Fold(validating: argument) }
}
