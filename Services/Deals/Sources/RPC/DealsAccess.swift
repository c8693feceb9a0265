import CRMIdentity

/// Who may call which deals method (object-level rules — a manager changes only his own deals
/// and opens deals only as their owner — are checked by the handlers and the repository).
enum DealsAccess {
  static let service = "crm.deals.v1.Deals/"
  static let reads = "deals and pipelines are read by the sales department and the CRM's services"
  static let changes = "deals are changed by their owners (managers) and heads of sales"

  static let policy = AccessPolicy(
    Dictionary(
      uniqueKeysWithValues: [
        (
          service + "DefinePipeline",
          AccessPolicy.Rule([.operator, .headOfSales], "only a head of sales defines pipelines")
        )
      ]
        + ["GetPipeline", "ListPipelines", "GetDeal", "ListDeals", "ListOpenDealsOfContact"].map {
          (service + $0, AccessPolicy.Rule(AccessPolicy.salesStaff, reads))
        }
        + ["OpenDeal", "MoveDeal", "RaiseObjection", "EstimateProbability", "ChangeAmount", "WinDeal", "LoseDeal"].map {
          (service + $0, AccessPolicy.Rule([.operator, .headOfSales, .manager], changes))
        }))
}
