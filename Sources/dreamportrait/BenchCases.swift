// Benchmark cases for ops beyond GEMM (convolution, sampling, normalisation, attention).
import TensorCore

enum BenchCases {
    static let ops: [BenchCase] = []
}
