/// A precondition whose message survives optimised builds (`precondition` drops its message at -O, and
/// TensorCore compiles its kernels with -O even in debug): shape errors must name the op and the shapes.
@inline(__always) public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
