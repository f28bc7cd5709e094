# CPack pre-build script for the .deb: what Debian policy wants of the
# staged tree and a plain "cmake --install" does not do: man pages
# gzip -9n, binaries stripped, a copyright file and a (native) changelog.
file(GLOB_RECURSE staged LIST_DIRECTORIES false
    "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/*")
foreach(f ${staged})
	if(f MATCHES "/share/man/man[1-9]/[^/]+\\.[1-9]$")
		execute_process(COMMAND gzip -9nf ${f} COMMAND_ERROR_IS_FATAL ANY)
	elseif(f MATCHES "/sbin/[^/]+$")
		execute_process(COMMAND strip --remove-section=.comment
		    --remove-section=.note --strip-unneeded ${f}
		    COMMAND_ERROR_IS_FATAL ANY)
	endif()
	if(f MATCHES "(.*)/usr/sbin/relayctl$")
		set(top "${CMAKE_MATCH_1}")
	endif()
endforeach()
if(NOT top)
	message(FATAL_ERROR "prebuild: no usr/sbin/relayctl staged")
endif()
set(doc "${top}/usr/share/doc/relayctl")
file(MAKE_DIRECTORY "${doc}")
file(READ "${RELAY_SOURCE_DIR}/LICENSE" license)
string(REGEX REPLACE "\n\n" "\n.\n" license "${license}")
string(REGEX REPLACE "\n([^\n])" "\n \\1" license "${license}")
file(WRITE "${doc}/copyright"
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: relayctl

Files: *
Copyright: 2026 The relayctl authors
License: ISC
 ${license}")
string(TIMESTAMP now "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE "${doc}/changelog"
"relayctl (${CPACK_PACKAGE_VERSION}) unstable; urgency=medium

  * Package built with CPack from the relayctl source tree.

 -- ${CPACK_PACKAGE_CONTACT}  ${now}
")
execute_process(COMMAND gzip -9nf "${doc}/changelog" COMMAND_ERROR_IS_FATAL ANY)
