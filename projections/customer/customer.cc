#include "projections/customer/customer.h"

#include <rocksdb/db.h>

#include <algorithm>

#include "engine/rocksdb_error.h"
#include "events/codec.h"
#include "projections/row_codec.h"

namespace tally::projections {
namespace {

using events::View;

constexpr size_t kMaxCachedRows = 100'000;

void WriteAddress(RowWriter& w, const CustomerAddress& a) {
  w.Str(a.first_name).Str(a.last_name).Str(a.address_line1).Str(a.address_line2).Str(a.address_line3)
      .Str(a.city).Str(a.state).Str(a.postal_code).Str(a.country).Str(a.phone_number);
}

void ReadAddress(RowReader& r, CustomerAddress& a) {
  r.Str(a.first_name), r.Str(a.last_name), r.Str(a.address_line1), r.Str(a.address_line2),
      r.Str(a.address_line3), r.Str(a.city), r.Str(a.state), r.Str(a.postal_code), r.Str(a.country),
      r.Str(a.phone_number);
}

void SetPersonal(CustomerRow& row, personal::Fields f) {
  row.email = std::move(f.email);
  row.address.first_name = std::move(f.first_name);
  row.address.last_name = std::move(f.last_name);
  row.address.address_line1 = std::move(f.address_line1);
  row.address.address_line2 = std::move(f.address_line2);
  row.address.address_line3 = std::move(f.address_line3);
  row.address.phone_number = std::move(f.phone_number);
}

// The personal fields as this model's key ring reveals them: in clear, or
// empty when erased (or when the model runs without keys).
Status SetBilling(CustomerRow& row, const events::BillingProfile* p, const personal::KeyRing* keys) {
  row.culture = row.language = row.billing_company_name = {};
  row.address = {};
  SetPersonal(row, {});
  if (p == nullptr) return OkStatus();
  row.culture = View(p->culture());
  row.language = View(p->language());
  row.billing_company_name = View(p->company_name());
  if (const auto* a = p->default_address()) {
    row.address.city = View(a->city());
    row.address.state = View(a->state());
    row.address.postal_code = View(a->postal_code());
    row.address.country = View(a->country());
  }
  const auto* sealed = p->sealed_personal_data();
  if (sealed == nullptr) return OkStatus();
  auto revealed = personal::Reveal(keys, row.id, {sealed->data(), sealed->size()});
  if (!revealed.ok()) return revealed.error();
  SetPersonal(row, std::move(revealed->fields));
  return OkStatus();
}

Error NotApplicable(const events::Envelope& e, std::string_view why) {
  return Error(ErrorCode::kCorruption, "customer model: " + std::string(events::EventTypeName(e.payload_type())) +
                                           " for customer " + std::string(View(e.customer_id())) + ": " +
                                           std::string(why));
}

}  // namespace

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool CustomerRow::RelatedTo(std::string_view partner_id) const {
  return std::any_of(partners.begin(), partners.end(),
                     [&](const CustomerPartner& p) { return p.partner_id == partner_id; });
}

std::string CustomerRow::Encode() const {
  RowWriter w;
  w.Str(id).Str(domain).Str(company_name).Str(registration_number).Str(instance).Str(admin_user_name)
      .Str(status).Str(email).Str(culture).Str(language).Str(billing_company_name);
  WriteAddress(w, address);
  w.I64(created_us).I64(updated_us).U64(partners.size());
  for (const auto& p : partners) w.Str(p.partner_id).Str(p.role).I64(p.since_us);
  w.U64(agreements.size());
  for (const auto& a : agreements) {
    w.Str(a.template_id).Str(a.type).I64(a.date_agreed_us).Str(a.partner_id).I64(a.confirmed_us)
        .Str(a.first_name).Str(a.last_name).Str(a.email).Str(a.phone_number);
  }
  return w.Finish();
}

bool CustomerRow::Decode(std::string_view bytes, CustomerRow* row) {
  RowReader r(bytes);
  r.Str(row->id), r.Str(row->domain), r.Str(row->company_name), r.Str(row->registration_number),
      r.Str(row->instance), r.Str(row->admin_user_name), r.Str(row->status), r.Str(row->email),
      r.Str(row->culture), r.Str(row->language), r.Str(row->billing_company_name);
  ReadAddress(r, row->address);
  r.I64(row->created_us), r.I64(row->updated_us);
  uint64_t n = 0;
  if (!r.Count(n)) return false;
  row->partners.resize(n);
  for (auto& p : row->partners) r.Str(p.partner_id), r.Str(p.role), r.I64(p.since_us);
  row->agreements.clear();
  if (r.done()) return true;  // a row written before agreements
  if (!r.Count(n)) return false;
  row->agreements.resize(n);
  for (auto& a : row->agreements) {
    r.Str(a.template_id), r.Str(a.type), r.I64(a.date_agreed_us), r.Str(a.partner_id), r.I64(a.confirmed_us),
        r.Str(a.first_name), r.Str(a.last_name), r.Str(a.email), r.Str(a.phone_number);
  }
  return r.done();
}

CustomerProjection::CustomerProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy,
                                       const personal::KeyRing* keys)
    : Projection(store, std::move(copy)), rows_(store, *copy_, kMaxCachedRows), keys_(keys) {}

Status CustomerProjection::Apply(uint64_t /*position*/, const events::Envelope& e) {
  using events::Payload;
  const std::string_view customer_id = View(e.customer_id());
  const int64_t at = e.recorded_at_us();
  if (e.payload_type() == Payload::CustomerCreated) {
    const auto* p = e.payload_as_CustomerCreated();
    auto* entry = rows_.Fresh(ScratchKey('c', customer_id));
    if (entry->exists) return NotApplicable(e, "the customer exists already");
    CustomerRow& row = entry->row;
    row = CustomerRow{};
    row.id = customer_id;
    row.domain = View(p->domain());
    row.company_name = View(p->company_name());
    row.registration_number = View(p->registration_number());
    row.instance = View(p->instance());
    row.admin_user_name = View(p->admin_user_name());
    if (Status s = SetBilling(row, p->billing_profile(), keys_); !s.ok()) {
      return NotApplicable(e, s.error().message());
    }
    row.created_us = row.updated_us = at;
    entry->exists = true;
    rows_.MarkDirty(entry);
    BlindPut(Key('d', LowerAscii(row.domain)), std::string(customer_id));
    BlindPut(Key('n', LowerAscii(row.company_name), customer_id), "");
    return OkStatus();
  }
  switch (e.payload_type()) {
    case Payload::BillingProfileUpdated:
    case Payload::RelationshipEstablished:
    case Payload::RelationshipAccepted:
    case Payload::RelationshipRemoved:
    case Payload::CustomerPersonalDataErased:
    case Payload::CustomerAgreementAccepted:
      break;
    default:
      return OkStatus();  // subscriptions and invitations are not part of this model
  }
  auto got = rows_.Get(ScratchKey('c', customer_id));
  if (!got.ok()) return got.error();
  auto* entry = *got;
  if (!entry->exists) return NotApplicable(e, "no such customer in the model");
  CustomerRow& row = entry->row;
  rows_.MarkDirty(entry);
  row.updated_us = at;
  auto join = [&](std::string_view partner_id, bool creator) {
    if (row.RelatedTo(partner_id)) return;
    row.partners.push_back({std::string(partner_id), creator ? "reseller_of_record" : "reseller", at});
    BlindPut(Key('p', partner_id, customer_id), "");
  };
  switch (e.payload_type()) {
    case Payload::BillingProfileUpdated:
      if (Status s = SetBilling(row, e.payload_as_BillingProfileUpdated()->billing_profile(), keys_); !s.ok()) {
        return NotApplicable(e, s.error().message());
      }
      break;
    case Payload::RelationshipEstablished: {
      const auto* p = e.payload_as_RelationshipEstablished();
      join(View(p->partner_id()), View(p->invitation_id()).empty());
      break;
    }
    case Payload::RelationshipAccepted:
      join(View(e.payload_as_RelationshipAccepted()->partner_id()), false);
      break;
    case Payload::RelationshipRemoved: {
      const std::string_view partner_id = View(e.payload_as_RelationshipRemoved()->partner_id());
      std::erase_if(row.partners, [&](const CustomerPartner& p) { return p.partner_id == partner_id; });
      BlindDelete(Key('p', partner_id, customer_id));
      break;
    }
    case Payload::CustomerAgreementAccepted: {
      const auto* p = e.payload_as_CustomerAgreementAccepted();
      CustomerAgreement a{std::string(View(p->template_id())), std::string(View(p->agreement_type())),
                          p->date_agreed_us(), std::string(View(e.partner_id())), at};
      if (const auto* sealed = p->sealed_contact()) {
        auto revealed = personal::Reveal(keys_, row.id, {sealed->data(), sealed->size()});
        if (!revealed.ok()) return NotApplicable(e, revealed.error().message());
        a.first_name = std::move(revealed->fields.first_name);
        a.last_name = std::move(revealed->fields.last_name);
        a.email = std::move(revealed->fields.email);
        a.phone_number = std::move(revealed->fields.phone_number);
      }
      row.agreements.push_back(std::move(a));
      break;
    }
    case Payload::CustomerPersonalDataErased:
      SetPersonal(row, {});  // the non-personal billing fields stay
      for (auto& a : row.agreements) a.first_name = a.last_name = a.email = a.phone_number = {};
      row.status = "erased";
      break;
    default:
      break;
  }
  return OkStatus();
}

std::optional<std::string_view> CustomerProjection::CustomerOfRow(std::string_view key, std::string_view value) const {
  if (key.empty()) return std::nullopt;
  const auto [a, b] = SplitKey(key);
  switch (key[0]) {
    case 'c': return a;      // "c" id
    case 'd': return value;  // "d" domain -> id
    case 'n':                // "n" company 00 id
    case 'p': return b;      // "p" partner 00 id
    default: return std::nullopt;
  }
}

namespace {

Result<std::optional<CustomerRow>> ReadRow(const ProjectionStore& store, const Copy& copy,
                                           std::string_view customer_id, const rocksdb::Snapshot* snapshot) {
  auto value = store.Get(copy, Key('c', customer_id), snapshot);
  if (!value.ok()) return value.error();
  if (!value->has_value()) return std::optional<CustomerRow>();
  CustomerRow row;
  if (!CustomerRow::Decode(**value, &row)) return Error(ErrorCode::kCorruption, "malformed customer row");
  return std::optional<CustomerRow>(std::move(row));
}

// A snapshot released when the query ends.
struct Snapshot {
  explicit Snapshot(rocksdb::DB* db) : db(db), snap(db->GetSnapshot()) {}
  ~Snapshot() { db->ReleaseSnapshot(snap); }
  rocksdb::DB* db;
  const rocksdb::Snapshot* snap;
};

}  // namespace

Result<std::optional<CustomerRow>> CustomerReader::Get(std::string_view customer_id) const {
  auto copy = store_.Active("customer");
  return ReadRow(store_, *copy, customer_id, nullptr);
}

Result<std::optional<CustomerRow>> CustomerReader::FindByDomain(std::string_view domain) const {
  auto copy = store_.Active("customer");
  Snapshot snap(store_.db());
  auto id = store_.Get(*copy, Key('d', LowerAscii(domain)), snap.snap);
  if (!id.ok()) return id.error();
  if (!id->has_value()) return std::optional<CustomerRow>();
  return ReadRow(store_, *copy, **id, snap.snap);
}

Result<Page<CustomerRow>> CustomerReader::ListForPartner(std::string_view partner_id, size_t size,
                                                         std::string_view continuation) const {
  auto copy = store_.Active("customer");
  Snapshot snap(store_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snap;
  const std::string prefix = Key('p', partner_id, "");
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(ro, copy->cf()));
  Page<CustomerRow> page;
  if (continuation.empty()) {
    it->Seek(prefix);
  } else {
    const std::string after = prefix + std::string(continuation);
    it->Seek(after);
    if (it->Valid() && it->key().ToStringView() == after) it->Next();
  }
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.items.size() == size) {
      page.continuation = page.items.back().id;
      break;
    }
    const std::string_view id = it->key().ToStringView().substr(prefix.size());
    auto row = ReadRow(store_, *copy, id, snap.snap);
    if (!row.ok()) return row.error();
    if (!row->has_value()) return Error(ErrorCode::kCorruption, "customer index names a missing row");
    page.items.push_back(std::move(**row));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing customers");
  return page;
}

Result<std::vector<CustomerRow>> CustomerReader::SearchByCompanyPrefix(std::string_view partner_id,
                                                                       std::string_view prefix,
                                                                       size_t size) const {
  auto copy = store_.Active("customer");
  Snapshot snap(store_.db());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snap;
  const std::string seek = Key('n', LowerAscii(prefix));
  std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(ro, copy->cf()));
  std::vector<CustomerRow> out;
  for (it->Seek(seek); it->Valid() && it->key().starts_with(seek) && out.size() < size; it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const size_t sep = key.rfind('\0');
    if (sep == std::string_view::npos) return Error(ErrorCode::kCorruption, "malformed name index key");
    auto row = ReadRow(store_, *copy, key.substr(sep + 1), snap.snap);
    if (!row.ok()) return row.error();
    if (row->has_value() && (*row)->RelatedTo(partner_id)) out.push_back(std::move(**row));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "searching customers");
  return out;
}

}  // namespace tally::projections
