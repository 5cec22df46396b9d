# cmake -DIN=<events.fbs> -DOUT=<schema_text.cc> -P embed_schema.cmake
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from events/events.fbs by events/embed_schema.cmake. Do not edit.\n"
  "#include <string_view>\nnamespace tally::events {\n"
  "std::string_view SchemaText() {\n  static constexpr char kText[] = R\"TALLYFBS(${text})TALLYFBS\";\n"
  "  return std::string_view(kText, sizeof(kText) - 1);\n}\n}  // namespace tally::events\n")
