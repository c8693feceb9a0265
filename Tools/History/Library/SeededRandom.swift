/// SplitMix64 (Steele et al. 2014): the same seed gives the same history on every machine
/// (the standard generator is seeded per process).
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  public mutating func chance(_ probability: Double) -> Bool { double(in: 0..<1) < probability }

  public mutating func double(in range: Range<Double>) -> Double { Double.random(in: range, using: &self) }

  public mutating func double(in range: ClosedRange<Double>) -> Double { Double.random(in: range, using: &self) }

  public mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

  public mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &self)] }
}
