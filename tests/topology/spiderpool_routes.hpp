#pragma once
// The rules and routes of a pod as Spiderpool sets one up, as `ip -j rule` and
// `ip -j route show table all` print them, over the HGX fixture's rails: what the routing checks
// are tested on (routing_checks_test.cpp) and what the netlink parsers must read the same way
// (netlink_test.cpp).

namespace railcheck::topology::testing {

// As Spiderpool sets a pod up: `from <ip>` rules (net1, net3, net4), an `oif` rule (net2), one
// table per interface; net1's and net2's tables have a default route via the rail's gateway,
// net3's only its subnet, net4's routes via the wrong interface; net5..net8 have no rule.
constexpr const char* kRules = R"([
  {"priority":0,"src":"all","table":"local"},
  {"priority":100,"src":"172.16.11.10","table":"101"},
  {"priority":101,"src":"all","oif":"net2","table":"102"},
  {"priority":102,"src":"172.16.13.10","srclen":32,"table":"103"},
  {"priority":103,"src":"172.16.14.10","table":"104"},
  {"priority":32766,"src":"all","table":"main"},
  {"priority":32767,"src":"all","table":"default"}])";

constexpr const char* kRoutes = R"([
  {"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]},
  {"dst":"default","gateway":"172.16.11.254","dev":"net1","table":"101","flags":[]},
  {"dst":"172.16.11.0/24","dev":"net1","table":"101","protocol":"kernel","scope":"link","flags":[]},
  {"dst":"default","gateway":"172.16.12.254","dev":"net2","table":"102","flags":[]},
  {"dst":"172.16.13.0/24","dev":"net3","table":"103","flags":[]},
  {"dst":"default","gateway":"172.16.14.254","dev":"net1","table":"104","flags":[]},
  {"type":"local","dst":"172.16.11.10","dev":"net1","table":"local","flags":[]}])";

}  // namespace railcheck::topology::testing
