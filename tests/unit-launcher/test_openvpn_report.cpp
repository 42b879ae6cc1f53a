#include "openvpn_report.hpp"

#include <doctest/doctest.h>

using namespace nsjv::openvpn;

TEST_CASE("the route-up environment of OpenVPN 2.5 style pushes")
{
    Report r = parse_report({"dev=vpn0", "ifconfig_local=198.18.8.2", "trusted_ip=203.0.113.20",
                             "trusted_port=1194", "foreign_option_2=dhcp-option DNS 198.18.8.53",
                             "foreign_option_1=dhcp-option DNS 198.18.8.1",
                             "foreign_option_3=dhcp-option DOMAIN vpn.test",
                             "foreign_option_4=dhcp-option DNS not-an-ip", "unrelated"});
    CHECK(r.device == "vpn0");
    CHECK(r.local == "198.18.8.2");
    CHECK(r.server == "203.0.113.20");
    CHECK(r.server_port == "1194");
    // pushed order, by the option's number, not the environment's order
    CHECK(r.dns.dhcp_option == std::vector<std::string>{"198.18.8.1", "198.18.8.53"});
    CHECK(r.dns.search == std::vector<std::string>{"vpn.test"});
    CHECK(r.warnings.size() == 1);
}

TEST_CASE("OpenVPN 2.6 'dns' servers by priority, with non-standard ports skipped")
{
    Report r = parse_report({"dns_server_1_address_1=198.18.8.3", "dns_server_0_address_2=198.18.8.2",
                             "dns_server_0_address_1=198.18.8.1", "dns_server_2_address_1=198.18.8.9",
                             "dns_server_2_port_1=5353", "dns_search_domain_1=corp.test",
                             "foreign_option_1=dhcp-option DOMAIN old.test"});
    CHECK(r.dns.dns_option == std::vector<std::string>{"198.18.8.1", "198.18.8.2", "198.18.8.3"});
    CHECK(r.dns.search == std::vector<std::string>{"corp.test"});
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("5353") != std::string::npos);
}

TEST_CASE("only the variables the supervisor needs are forwarded by the hook")
{
    CHECK(report_variable("foreign_option_1"));
    CHECK(report_variable("dns_server_0_address_1"));
    CHECK(report_variable("ifconfig_local"));
    CHECK(report_variable("trusted_ip"));
    CHECK(report_variable("dev"));
    CHECK_FALSE(report_variable("HOME"));
    CHECK_FALSE(report_variable("password"));
    CHECK_FALSE(report_variable("common_name"));
    CHECK_FALSE(report_variable("X509_0_CN"));
}

TEST_CASE("a pushed search domain is a domain name or nothing: it cannot add resolv.conf lines")
{
    Report r = parse_report({"dns_search_domain_1=corp.test\nnameserver 203.0.113.99",
                             "dns_search_domain_2=ok.test.", "dns_search_domain_3=a..b",
                             "dns_search_domain_4=\x1b[31mred", "dns_search_domain_5=" +
                                                                     std::string(254, 'a'),
                             "foreign_option_1=dhcp-option DOMAIN x;y"});
    CHECK(r.dns.search == std::vector<std::string>{"ok.test."});
    REQUIRE(r.warnings.size() == 5); // four here, and the dhcp-option one
    for (const auto& w : r.warnings) {
        CHECK(w.find('\n') == std::string::npos);
        CHECK(w.find('\x1b') == std::string::npos); // shown, not obeyed, by a terminal
    }
    Report old = parse_report({"foreign_option_1=dhcp-option DOMAIN x;y",
                               "foreign_option_2=dhcp-option DOMAIN-SEARCH corp_1.test"});
    CHECK(old.dns.search == std::vector<std::string>{"corp_1.test"});
    CHECK(old.warnings.size() == 1);
}

TEST_CASE("OpenVPN's log tells a connection restart, and why, from any other line")
{
    CHECK(restart_reason("SIGUSR1[soft,ping-restart] received, process restarting") ==
          "ping-restart");
    CHECK(restart_reason("SIGUSR1[soft,server_poll] received, process restarting") ==
          "server_poll");
    // Inside another line (a pushed option OpenVPN logs) it is not one.
    CHECK(restart_reason("PUSH: Received control message: 'SIGUSR1[soft,x] received, process "
                         "restarting'") == "");
    CHECK(restart_reason("SIGUSR1[soft,x] received, process restarting'") == "");
    CHECK(restart_reason("SIGHUP[soft,tls-error] received, process restarting") == "tls-error");
    CHECK(restart_reason("SIGUSR1[soft,connection-reset] received, process restarting") ==
          "connection-reset");
    CHECK(restart_reason("Initialization Sequence Completed") == "");
    CHECK(restart_reason("[server] Inactivity timeout (--ping-restart), restarting") == "");
    CHECK(restart_reason("SIGTERM[hard,] received, process exiting") == "");
    CHECK(restart_reason("SIGUSR1[soft,] received, process restarting") == "");
    // Whatever stands there is shown to the user: plain words only.
    CHECK(restart_reason("SIGUSR1[soft,\x1b[31m] received, process restarting") == "");
    CHECK(restart_reason("] received, process restarting [soft,x") == "");
    CHECK(restart_reason("SIGUSR1[soft,] received, process restarting") == "");
    CHECK(connection_completed("Initialization Sequence Completed"));
    CHECK(connection_completed("Initialization Sequence Completed With Errors"));
    CHECK_FALSE(connection_completed("PUSH: 'Initialization Sequence Completed'"));
}
