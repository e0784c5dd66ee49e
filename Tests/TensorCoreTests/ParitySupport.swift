// PyTorch parity for the fixture files of Scripts/make_fixtures.py (one case: inputs, output, seed and
// gradients). The shared helpers (fixtures, assertClose, gradcheck, testTensor) come from TestSupport.
import Foundation
import XCTest
@testable import TensorCore
// Re-exported to every file of this target (WinogradTests.swift uses the helpers without importing them).
import TestSupport

/// PyTorch parity for one case of a fixture file written by Scripts/make_fixtures.py: inputs `case.x0...`
/// (gradients wanted where `case.g<i>` exists), output `case.out`, seed `case.r`, gradients `case.g<i>`.
func checkParity(_ file: SafeTensorsFile, _ name: String, fwdTol: Double = 1e-5, gradTol: Double = 1e-4,
                 sourceFile: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) throws {
    var xs: [Tensor] = []
    while file.entries["\(name).x\(xs.count)"] != nil {
        let t = try file.tensor("\(name).x\(xs.count)")
        let c = Tensor(t.toArray(), shape: t.shape)
        c.requiresGrad = file.entries["\(name).g\(xs.count)"] != nil
        xs.append(c)
    }
    XCTAssertFalse(xs.isEmpty, "\(name): no inputs in \(file.name)", file: sourceFile, line: line)
    let y = f(xs)
    assertClose(y, try file.tensor("\(name).out"), tol: fwdTol, "\(name) forward", file: sourceFile, line: line)
    guard file.entries["\(name).r"] != nil else { return }
    let wanted = xs.filter(\.requiresGrad)
    let grads = gradients(of: y, wrt: wanted, seed: try file.tensor("\(name).r"))
    var j = 0
    for i in 0..<xs.count where xs[i].requiresGrad {
        assertClose(grads[j], try file.tensor("\(name).g\(i)"), tol: gradTol, "\(name) gradient \(i)", file: sourceFile, line: line)
        j += 1
    }
}

/// Case names in a fixture file (the prefixes of its `.out` keys).
func parityCases(_ file: SafeTensorsFile, prefix: String = "") -> [String] {
    file.keys.filter { $0.hasSuffix(".out") && $0.hasPrefix(prefix) }.map { String($0.dropLast(4)) }
}
