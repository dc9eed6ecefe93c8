import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Open MPI as a ``Communicator``: one rank per process, started by `mpirun` (or `srun` with PMIx), on one or many
/// machines.
///
/// The MPI library is loaded when a job asks for it (`dlopen` of `libmpi.so.40`, Open MPI 4 and 5's soname), not
/// linked: the package builds, and everything but distributed training runs, on machines without MPI. Only Open MPI
/// is supported (its handles such as `MPI_COMM_WORLD` are addresses of exported objects; MPICH's are integers).
///
/// ```swift
/// if MPICommunicator.isLaunchedByMPI() {
///     let world = try MPICommunicator.initialize()   // once per process
///     defer { world.finalize() }
///     request.communicator = world.size > 1 ? world : nil
/// }
/// ```
///
/// `@unchecked Sendable`: every stored property is immutable after ``initialize(libraryNames:)``; the MPI library is
/// initialised with `MPI_THREAD_SERIALIZED`, and the trainer makes collective calls from one thread at a time.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// The version string of the loaded library (`MPI_Get_library_version`), e.g. "Open MPI v4.1.4, ...".
    public let libraryVersion: String

    private let api: API
    nonisolated(unsafe) private static var initialized: MPICommunicator?
    private static let initializationLock = NSLock()

    /// Whether this process was started by an MPI launcher (`mpirun`/`mpiexec` of Open MPI, or `srun` with PMIx):
    /// `OMPI_COMM_WORLD_SIZE` or `PMIX_RANK` is set.
    public static func isLaunchedByMPI(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// Loads the MPI library and initialises MPI (once per process; later calls return the same communicator).
    ///
    /// - Parameter libraryNames: where to look for Open MPI's library, in order.
    /// - Throws: ``CoreError/distributed(_:)`` when the library cannot be loaded or is not Open MPI.
    public static func initialize(libraryNames: [String] = ["libmpi.so.40", "libmpi.so"]) throws -> MPICommunicator {
        initializationLock.lock()
        defer { initializationLock.unlock() }
        if let initialized { return initialized }
        let api = try API(libraryNames: libraryNames)
        var provided: Int32 = 0
        // MPI_THREAD_SERIALIZED = 2 in Open MPI's mpi.h.
        try api.check(api.initThread(nil, nil, 2, &provided), "MPI_Init_thread")
        var rank: Int32 = 0, size: Int32 = 0
        try api.check(api.commRank(api.commWorld, &rank), "MPI_Comm_rank")
        try api.check(api.commSize(api.commWorld, &size), "MPI_Comm_size")
        var versionBytes = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        _ = api.libraryVersion(&versionBytes, &length)
        let version = String(decoding: versionBytes.prefix(Int(max(0, length))).prefix { $0 != 0 }
                                .map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let world = MPICommunicator(rank: Int(rank), size: Int(size), version: version, api: api)
        initialized = world
        return world
    }

    private init(rank: Int, size: Int, version: String, api: API) {
        self.rank = rank
        self.size = size
        self.libraryVersion = version
        self.api = api
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        forEachChunk(values.count) { start, count in
            api.allreduce(api.inPlace, values.baseAddress! + start, count, api.float, api.sum, api.commWorld)
        }
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        forEachChunk(values.count) { start, count in
            api.allreduce(api.inPlace, values.baseAddress! + start, count, api.double, api.sum, api.commWorld)
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        forEachChunk(bytes.count) { start, count in
            api.bcast(bytes.baseAddress! + start, count, api.byte, Int32(root), api.commWorld)
        }
    }

    public func barrier() {
        _ = api.barrier(api.commWorld)
    }

    /// Ends MPI (`MPI_Finalize`); call once, after the last collective, on every rank.
    public func finalize() {
        _ = api.finalize()
    }

    /// Ends the whole job with `code` (`MPI_Abort`): for a rank that fails while the others may wait in a collective.
    public func abort(code: Int32) -> Never {
        _ = api.abort(api.commWorld, code)
        exit(code)
    }

    /// Calls `body(start, count)` over `0..<total` in pieces that fit MPI's `int` counts. Errors abort the job
    /// (`MPI_ERRORS_ARE_FATAL`, the default handler), so return codes are not checked here.
    private func forEachChunk(_ total: Int, _ body: (Int, Int32) -> Int32) {
        let chunk = Int(Int32.max / 2)
        var start = 0
        while start < total {
            let count = min(chunk, total - start)
            _ = body(start, Int32(count))
            start += count
        }
    }

    /// The entry points and predefined handles of the loaded library.
    private struct API: @unchecked Sendable {
        typealias Handle = UnsafeMutableRawPointer
        let initThread: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<
            UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>) -> Int32
        let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
        let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
        let allreduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer, Int32, Handle, Handle, Handle)
            -> Int32
        let bcast: @convention(c) (UnsafeMutableRawPointer, Int32, Handle, Int32, Handle) -> Int32
        let barrier: @convention(c) (Handle) -> Int32
        let finalize: @convention(c) () -> Int32
        let abort: @convention(c) (Handle, Int32) -> Int32
        let libraryVersion: @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
        let commWorld: Handle, float: Handle, double: Handle, byte: Handle, sum: Handle
        /// `MPI_IN_PLACE` is `(void *) 1` in Open MPI's mpi.h.
        let inPlace = UnsafeRawPointer(bitPattern: 1)

        init(libraryNames: [String]) throws {
            var library: UnsafeMutableRawPointer?
            var errors: [String] = []
            for name in libraryNames {
                // RTLD_GLOBAL: Open MPI's components, loaded by the library itself, resolve symbols against it.
                library = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
                if library != nil { break }
                errors.append(dlerror().map { String(cString: $0) } ?? name)
            }
            guard let library else {
                throw CoreError.distributed(
                    "this process was started by an MPI launcher, but Open MPI's library could not be loaded ("
                    + errors.joined(separator: "; ") + "). Install Open MPI (Debian: apt install openmpi-bin "
                    + "libopenmpi-dev) on every machine of the job.")
            }
            func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
                guard let pointer = dlsym(library, name) else {
                    throw CoreError.distributed("the loaded MPI library has no '\(name)': only Open MPI is supported")
                }
                return pointer
            }
            initThread = unsafeBitCast(try symbol("MPI_Init_thread"), to: type(of: initThread))
            commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: type(of: commRank))
            commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: type(of: commSize))
            allreduce = unsafeBitCast(try symbol("MPI_Allreduce"), to: type(of: allreduce))
            bcast = unsafeBitCast(try symbol("MPI_Bcast"), to: type(of: bcast))
            barrier = unsafeBitCast(try symbol("MPI_Barrier"), to: type(of: barrier))
            finalize = unsafeBitCast(try symbol("MPI_Finalize"), to: type(of: finalize))
            abort = unsafeBitCast(try symbol("MPI_Abort"), to: type(of: abort))
            libraryVersion = unsafeBitCast(try symbol("MPI_Get_library_version"), to: type(of: libraryVersion))
            // Open MPI's predefined handles are the addresses of these objects (mpi.h: MPI_COMM_WORLD is
            // &ompi_mpi_comm_world, MPI_FLOAT &ompi_mpi_float, MPI_SUM &ompi_mpi_op_sum, ...).
            commWorld = try symbol("ompi_mpi_comm_world")
            float = try symbol("ompi_mpi_float")
            double = try symbol("ompi_mpi_double")
            byte = try symbol("ompi_mpi_byte")
            sum = try symbol("ompi_mpi_op_sum")
        }

        func check(_ code: Int32, _ call: String) throws {
            guard code == 0 else { throw CoreError.distributed("\(call) failed with MPI error code \(code)") }
        }
    }
}
