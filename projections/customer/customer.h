// The customer read model: each customer's profile, instance, status, times
// and the partners related to it; listed per partner with paging, searched
// by company-name prefix and by domain.
//
// Rows (in the model's copy; values encoded with row_codec.h):
//   "c" id                       -> CustomerRow
//   "d" domain                   -> customer id
//   "n" lower(company) 00 id     -> "" (company-name prefix search)
//   "p" partner 00 id            -> "" (a partner's customers, in id order)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/personal/personal_data.h"
#include "projections/projection.h"

namespace tally::projections {

struct CustomerPartner {
  std::string partner_id;
  std::string role;  // "reseller_of_record" (created the customer) or "reseller"
  int64_t since_us = 0;
  bool operator==(const CustomerPartner&) const = default;
};

struct CustomerAddress {
  std::string first_name, last_name, address_line1, address_line2, address_line3, city, state,
      postal_code, country, phone_number;
  bool operator==(const CustomerAddress&) const = default;
};

// A confirmed acceptance of the Microsoft Customer Agreement; the contact
// in clear as the model's key ring reveals it (empty once erased).
struct CustomerAgreement {
  std::string template_id, type;
  int64_t date_agreed_us = 0;
  std::string partner_id;  // who confirmed it
  int64_t confirmed_us = 0;
  std::string first_name, last_name, email, phone_number;
  bool operator==(const CustomerAgreement&) const = default;
};

struct CustomerRow {
  std::string id;
  std::string domain;
  std::string company_name;
  std::string registration_number;
  std::string instance;  // "global" or "usgov"
  std::string admin_user_name;
  std::string status = "active";  // "active"; "erased" once personal data is erased
  std::string email, culture, language, billing_company_name;
  CustomerAddress address;
  int64_t created_us = 0;
  int64_t updated_us = 0;  // the last profile or relationship change
  std::vector<CustomerPartner> partners;  // in the order they joined
  std::vector<CustomerAgreement> agreements;  // in the order they were confirmed (rows before: none)

  bool RelatedTo(std::string_view partner_id) const;
  std::string Encode() const;
  static bool Decode(std::string_view bytes, CustomerRow* row);
  bool operator==(const CustomerRow&) const = default;
};

class CustomerProjection final : public Projection {
 public:
  // `keys` (may be null: personal fields stay empty) opens the sealed
  // personal fields; it must outlive the projection.
  CustomerProjection(ProjectionStore& store, std::shared_ptr<const Copy> copy, const personal::KeyRing* keys);
  Status Apply(uint64_t position, const events::Envelope& event) override;
  std::optional<std::string_view> CustomerOfRow(std::string_view key, std::string_view value) const override;

 private:
  Status FlushRows(rocksdb::WriteBatch& batch) override { return rows_.Flush(batch); }
  void DiscardRows() override { rows_.Clear(); }
  RowCache<CustomerRow> rows_;
  const personal::KeyRing* keys_;
};

// A page of a listing and where the next one starts ("" when none).
template <typename T>
struct Page {
  std::vector<T> items;
  std::string continuation;
};

// Queries on the active copy. Each query reads one consistent snapshot.
// Any thread; `store` must outlive the reader.
class CustomerReader {
 public:
  explicit CustomerReader(const ProjectionStore& store) : store_(store) {}

  Result<std::optional<CustomerRow>> Get(std::string_view customer_id) const;
  Result<std::optional<CustomerRow>> FindByDomain(std::string_view domain) const;
  // The customers `partner_id` is related to, in id order, `size` at a
  // time, starting after `continuation` (a previous page's).
  Result<Page<CustomerRow>> ListForPartner(std::string_view partner_id, size_t size,
                                           std::string_view continuation) const;
  // Customers whose company name starts with `prefix` (any case) and that
  // `partner_id` is related to, in name order, at most `size`.
  Result<std::vector<CustomerRow>> SearchByCompanyPrefix(std::string_view partner_id,
                                                         std::string_view prefix, size_t size) const;
 private:
  const ProjectionStore& store_;
};

// Lower-case ASCII, as used by the name index.
std::string LowerAscii(std::string_view s);

}  // namespace tally::projections
