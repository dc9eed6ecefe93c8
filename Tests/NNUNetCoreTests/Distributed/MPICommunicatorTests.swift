import Foundation
import Testing
@testable import NNUNetCore

@Suite("Open MPI binding without MPI")
struct MPICommunicatorTests {
    @Test("started by mpirun or srun (PMIx) is told by the launcher's environment")
    func launchDetection() {
        #expect(!MPICommunicator.isLaunchedByMPI(environment: ["PATH": "/usr/bin"]))
        #expect(MPICommunicator.isLaunchedByMPI(environment: ["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(MPICommunicator.isLaunchedByMPI(environment: ["PMIX_RANK": "0"]))
    }

    @Test("a missing MPI library is a clear error that says what to install")
    func missingLibrary() {
        do {
            _ = try MPICommunicator.initialize(libraryNames: ["libnnunet-test-no-such-mpi.so.40"])
            Issue.record("a library that does not exist was loaded")
        } catch let error as CoreError {
            #expect(error.description.contains("Open MPI's library could not be loaded"))
            #expect(error.description.contains("apt install openmpi-bin"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("ranks on threads: sums in rank order reach every rank, broadcast sends the root's bytes")
    func localCollectives() {
        let group = LocalCommunicator.group(size: 3)
        let results = LockedValue([[Double]](repeating: [], count: 3))
        let bytes = LockedValue([[Float]](repeating: [], count: 3))
        let done = DispatchGroup()
        for communicator in group {
            done.enter()
            Thread {
                let r = Double(communicator.rank)
                let sum = communicator.allreduceSum([r, 10 * r])
                let sent = communicator.broadcast([Float(r) + 0.5, -1], root: 2)
                communicator.barrier()
                results.withLock { $0[communicator.rank] = sum }
                bytes.withLock { $0[communicator.rank] = sent }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(results.withLock { $0 } == Array(repeating: [3, 30], count: 3))
        #expect(bytes.withLock { $0 } == Array(repeating: [2.5, -1], count: 3))
    }
}
