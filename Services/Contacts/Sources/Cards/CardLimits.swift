/// Limits of what a card may hold.
enum CardLimits {
  static let nameLength = 200
  static let textLength = 2_000
  static let notesLength = 20_000
  static let listLength = 50
}
