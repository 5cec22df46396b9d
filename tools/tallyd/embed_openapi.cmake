# cmake -DIN=<openapi.json> -DOUT=<openapi_text.cc> -P embed_openapi.cmake
file(READ ${IN} text)
file(WRITE ${OUT} "// Generated from tools/tallyd/openapi.json by tools/tallyd/embed_openapi.cmake. Do not edit.\n"
  "#include <string_view>\nnamespace tally::server {\n"
  "std::string_view OpenApiText() {\n  static constexpr char kText[] = R\"TALLYOPENAPI(${text})TALLYOPENAPI\";\n"
  "  return std::string_view(kText, sizeof(kText) - 1);\n}\n}  // namespace tally::server\n")
