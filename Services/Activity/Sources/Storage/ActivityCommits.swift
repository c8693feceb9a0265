/// The group commits of a repository's hot writes (`GroupCommit`): one per kind of write, shared
/// by every copy of the repository value.
final class ActivityCommits: Sendable {
  /// Known contacts' calls and mails from the webhooks; nil answers: for `receiveAlone`.
  let communications = GroupCommit<Communication, (reply: WebhookReply, replay: Bool)?>()
  /// Logged activities (`LogActivityWrite`); the answer is the number of review items claimed.
  let activities = GroupCommit<LogActivityWrite, Int>()

  init() {}
}
