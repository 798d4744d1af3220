// The resolved inventory as JSON (pgdr inventory show --output json, and the lab's writer).
#pragma once

#include <nlohmann/json.hpp>

#include "core/inventory.hpp"

namespace pgdr {

nlohmann::json inventory_to_json(const Inventory& inv);

}  // namespace pgdr
