// RocksDB's messages on stderr instead of its LOG file in the data folder.
//
// Why: when the disk fills up, RocksDB's own LOG file is the first file to
// fail, and Debian's RocksDB (7.8, built with assertions) aborts the process
// the next time it writes to a LOG file that has seen an error (the
// ErrorHandler logs the write error it is handling: an assert in
// WritableFileWriter). A logger that does not write to the full disk lets
// RocksDB fail the write, keep serving reads and recover on its own once
// space returns.
#pragma once

#include <memory>
#include <string>

namespace rocksdb {
class Logger;
}

namespace tally {

// Warnings and errors of the database `name` ("event log", "read models") as
// "tally rocksdb (<name>): <message>" lines on stderr; less is dropped. Any
// thread.
std::shared_ptr<rocksdb::Logger> NewStderrRocksLogger(std::string name);

}  // namespace tally
