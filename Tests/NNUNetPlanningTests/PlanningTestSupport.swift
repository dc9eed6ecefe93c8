import Testing
@testable import NNUNetPlanning

// Tests for NNUNetPlanning live in this target, one file per source family.
