# cmake -DOUT=<console_files.cc> -DFILES="a.html|b.js|..." -P embed_console.cmake
# Embeds the console's static files (tools/tallyd/console/) in tallyd, so
# that it serves them with no file path to configure and no network.
string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
foreach(file ${FILES})
  get_filename_component(name ${file} NAME)
  file(READ ${file} text)
  string(FIND "${text}" ")TALLYCONSOLE\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw-string delimiter )TALLYCONSOLE\"")
  endif()
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "${file}: no content type known for it")
  endif()
  string(APPEND body "    {\"${name}\", \"${type}\", R\"TALLYCONSOLE(${text})TALLYCONSOLE\"},\n")
endforeach()
file(WRITE ${OUT} "// Generated from tools/tallyd/console/ by tools/tallyd/embed_console.cmake. Do not edit.\n"
  "#include \"tools/tallyd/server/console.h\"\n"
  "namespace tally::server {\n"
  "const ConsoleFile* FindConsoleFile(std::string_view name) {\n"
  "  static const ConsoleFile kFiles[] = {\n${body}  };\n"
  "  for (const auto& f : kFiles) {\n    if (f.name == name) return &f;\n  }\n  return nullptr;\n}\n"
  "}  // namespace tally::server\n")
