import CRMDatabase

extension ActivitySchema {
  /// Mail (issue 14 item 4): contacts' addresses learnt from their events, and the mail waiting
  /// for, sent through or refused by the SMTP server.
  static let mailMigration = Migration(
    version: 5,
    name: "contacts' e-mail addresses and outgoing mail",
    statements: [
      // The first address of each contact's card (the contacts service keeps them lower-case).
      """
      CREATE TABLE contact_mail_addresses (
        contact_id uuid PRIMARY KEY,
        address text NOT NULL
      )
      """,
      // Written in the transaction of its activity (outbox style) and sent by the background
      // sender. `message` is the whole message as rendered once, so every attempt sends the
      // same bytes with the same Message-ID. A claimed row's `next_attempt_at` is its lease:
      // a sender that died mid-send leaves it to be tried again when the lease runs out.
      """
      CREATE TABLE outgoing_mail (
        id uuid PRIMARY KEY,
        seq bigserial UNIQUE,
        activity_id uuid,
        contact_id uuid NOT NULL,
        deal_id uuid,
        purpose text NOT NULL CHECK (purpose IN ('email', 'birthday')),
        recipient text NOT NULL,
        subject text NOT NULL,
        message_id text NOT NULL UNIQUE,
        message bytea NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text NOT NULL DEFAULT '',
        requested_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )
      """,
      "CREATE INDEX outgoing_mail_due ON outgoing_mail (next_attempt_at) WHERE status = 'pending'",
    ]
  )
}
