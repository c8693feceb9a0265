import CRMContracts
import CRMDomain
import Foundation
import GRPCCore
import Hummingbird

/// The reviewers' workspace: his counts, the next item (codes and redacted text only), the
/// rubric's form, the submission — each a call to quality-control as the reviewer.
extension WebRoutes {
  func reviewer(_ session: WebSession?) throws(WebError) -> WebSession {
    guard let session else { throw WebError.signInAgain }
    guard session.user.reviews else { throw WebError.forbidden }
    return session
  }

  /// Quality-control's answer, or its refusal as a page.
  func calling<T>(_ call: () async throws -> T) async throws -> T {
    do {
      return try await call()
    } catch let error as RPCError {
      throw WebError.qualityControl(error)
    }
  }

  func workspace(_ request: Request) async throws -> Response {
    let current = try? await session(request)
    return await answer(current) {
      guard current != nil else { return Pages.redirect("/sign-in") }
      let session = try reviewer(current)
      let stats = try await calling { try await desk.stats(as: session.user.principal) }
      let accepted = request.uri.queryParameters["accepted"] == "1"
      return pages.page(
        "workspace",
        Pages.WorkspaceView(
          csrf: session.csrfToken, accepted: accepted, submitted: stats.reviewsSubmitted,
          thisWeek: stats.reviewsThisWeek, expired: stats.leasesExpired,
          meanScore: stats.reviewsSubmitted == 0 ? "—" : Pages.score(stats.meanWeightedScore)),
        title: "Проверка отчётов", session: session)
    }
  }

  func nextItem(_ request: Request) async throws -> Response {
    let current = try? await session(request)
    return await answer(current) {
      let session = try reviewer(current)
      _ = try await signedForm(request)
      let reply = try await calling { try await desk.nextItem(as: session.user.principal) }
      guard !reply.leaseID.isEmpty else {
        return pages.page(
          "empty", Pages.EmptyView(reason: reply.emptyBecause.isEmpty ? nil : reply.emptyBecause),
          title: "Очередь", session: session)
      }
      return pages.page("item", itemView(reply, csrf: session.csrfToken), title: "Отчёт", session: session)
    }
  }

  func itemView(_ reply: Crm_Qualitycontrol_V1_NextItemReply, csrf: String) -> Pages.ItemView {
    let item = reply.item
    return Pages.ItemView(
      csrf: csrf, kind: Pages.kind(item.kind), occurredAt: Pages.dateTime(item.occurredAt.date),
      leaseExpiresAt: Pages.dateTime(reply.leaseExpiresAt.date), itemID: item.itemID, leaseID: reply.leaseID,
      repCode: item.repCode, clientCode: item.clientCode,
      companyCode: item.companyCode.isEmpty ? nil : item.companyCode,
      dealCode: item.dealCode.isEmpty ? nil : item.dealCode,
      context: item.context.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) },
      text: item.redactedText, rubricName: reply.rubric.name, rubricVersion: reply.rubric.version,
      criteria: reply.rubric.criteria.map { criterion in
        .init(
          key: criterion.key, label: criterion.label, weight: criterion.weight,
          values: (0...Int(max(criterion.scaleMax, 0))).map { .init(key: criterion.key, value: $0) })
      })
  }

  func submitReview(_ request: Request) async throws -> Response {
    let current = try? await session(request)
    return await answer(current) {
      let session = try reviewer(current)
      let (_, form) = try await signedForm(request, allowed: ["item_id", "lease_id"], prefixes: ["score."])
      let review = try Self.review(form)
      _ = try await calling { try await desk.submit(review, as: session.user.principal) }
      return Pages.redirect("/review?accepted=1")
    }
  }

  /// The submission as quality-control takes it; quality-control checks it against the rubric.
  static func review(_ form: WebForm) throws(WebError) -> Crm_Qualitycontrol_V1_SubmitReviewRequest {
    let itemID = try identifier(form.required("item_id"), "item_id")
    let leaseID = try identifier(form.required("lease_id"), "lease_id")
    var scores: [Crm_Qualitycontrol_V1_Score] = []
    for (name, text) in form.fields.sorted(by: { $0.key < $1.key }) where name.hasPrefix("score.") {
      let key = String(name.dropFirst("score.".count))
      guard (1...64).contains(key.utf8.count),
        key.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") })
      else { throw WebError(.badRequest, "Поле \(Text.quoted(name)): критерий — от 1 до 64 знаков a-z 0-9 _") }
      guard let value = Int32(text), (0...100).contains(value) else {
        throw WebError(.badRequest, "Поле \(Text.quoted(name)): оценка — целое число от 0 до 100")
      }
      scores.append(
        .with {
          $0.criterion = key
          $0.value = value
        })
    }
    guard !scores.isEmpty else { throw WebError(.badRequest, "В форме нет ни одной оценки.") }
    guard scores.count <= 50 else { throw WebError(.badRequest, "В форме больше 50 оценок.") }
    return .with {
      $0.itemID = itemID
      $0.leaseID = leaseID
      $0.scores = scores
    }
  }

  /// Codes and lease ids: 1 to 128 of A-Z a-z 0-9 - _.
  static func identifier(_ value: String, _ field: String) throws(WebError) -> String {
    guard (1...128).contains(value.utf8.count),
      value.utf8.allSatisfy({
        (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
          || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
      })
    else { throw WebError(.badRequest, "Поле «\(field)»: от 1 до 128 знаков A-Z a-z 0-9 - _") }
    return value
  }
}
