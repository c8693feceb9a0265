import CRMIdentity

/// Who may call which activity method (object-level rules — a manager logs and keeps tasks only
/// on his own contacts and deals, and reads only his own timeline and tasks — are checked by the
/// handlers and the repository).
enum ActivityAccess {
  static let service = "crm.activity.v1.Activity/"
  static let reads =
    "activities, tasks and the attribute catalogue are read by the sales department and the CRM's services"
  static let writes =
    "activities and tasks are kept by managers (their own) and heads of sales, and by the CRM's services"

  static let policy = AccessPolicy(
    Dictionary(
      uniqueKeysWithValues: [
        (
          service + "DefineAttribute",
          AccessPolicy.Rule([.operator, .headOfSales], "only a head of sales edits the attribute catalogue")
        )
      ]
        + ["ListAttributes", "GetTimeline", "GetTask", "ListOpenTasks", "ListOffers", "GetHygieneReport"].map {
          (service + $0, AccessPolicy.Rule(AccessPolicy.salesStaff, reads))
        }
        + [
          "LogActivity", "SetTimeZone", "CreateTask", "RescheduleTask", "CompleteTask", "CancelTask", "MakeOffer",
          "AnswerOffer",
        ].map {
          (service + $0, AccessPolicy.Rule(AccessPolicy.salesStaff, writes))
        }))
}
